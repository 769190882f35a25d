#include <gtest/gtest.h>

#include "frontend/parser.hpp"

TEST(ParserTest, Placeholder) { SUCCEED(); }
