#pragma once
// Base64 (RFC 4648, with padding) for checkpoint blobs in JSON.

#include <string>
#include <string_view>

namespace varpulis::server {

std::string base64_encode(std::string_view bytes);
/// False on a character outside the alphabet or a bad length.
bool base64_decode(std::string_view text, std::string& out);

}  // namespace varpulis::server
