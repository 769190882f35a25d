bool dummy_preprocess_placeholder = true;
