// Reading one member of a .zip archive into memory (stored or deflate, via zlib), so that datasets shipped
// zipped (TraceAnomaly's trace vectors) are read as found, without an unzip step. ZIP64 and encrypted
// archives are refused with a clear error; the member's CRC-32 is checked.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ad {

// Caps checked before a member is inflated (from the sizes the archive declares) and while inflating (on
// the bytes actually produced), so a small archive cannot make the reader allocate or inflate gigabytes.
// The shipped TraceAnomaly archives are 56 MB at 32:1.
struct ZipLimits {
  uint64_t max_member_bytes = uint64_t(1) << 30;  // 1 GiB inflated
  uint64_t max_ratio = 200;                        // inflated bytes per packed byte
};

// Member names in central-directory order.
std::vector<std::string> zip_members(const std::string& zip_path);

// The bytes of `member`, or of the only member when `member` is empty (an archive with several members
// then needs a name). Errors (ad::Error) name the archive and the member.
std::string read_zip_member(const std::string& zip_path, const std::string& member = "",
                            const ZipLimits& limits = {});

// The whole file as text: a .zip path is read through read_zip_member (its only member), anything else
// as plain bytes.
std::string read_maybe_zipped(const std::string& path, const char* op, const ZipLimits& limits = {});

}  // namespace ad
