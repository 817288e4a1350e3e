#include "runtime/fs_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/error.h"

namespace fs = std::filesystem;

namespace ad {

void write_text_atomic(const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  AD_CHECK(f, "write_text_atomic", "cannot create \"", tmp, "\": ", std::strerror(errno));
  bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  ok = std::fflush(f) == 0 && ok;
  ok = ::fsync(fileno(f)) == 0 && ok;  // the data must be on disk before the rename makes it visible
  int err = errno;
  ok = std::fclose(f) == 0 && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    AD_FAIL("write_text_atomic", "cannot write \"", tmp, "\": ", std::strerror(err));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    AD_FAIL("write_text_atomic", "cannot rename \"", tmp, "\" to \"", path, "\": ", ec.message());
  }
}

std::string read_file_bytes(const std::string& path, const char* op) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) AD_FAIL(op, "\"", path, "\" is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  AD_CHECK(in, op, "cannot open \"", path, "\": ", std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  AD_CHECK(!in.bad(), op, "error while reading \"", path, "\"");
  return ss.str();
}

StagingDir::StagingDir(std::string final_path) : final_(std::move(final_path)) {
  while (final_.size() > 1 && final_.back() == '/') final_.pop_back();
  partial_ = final_ + ".partial-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(partial_, ec);  // left over from a crashed run that had our pid
  fs::create_directories(partial_, ec);
  AD_CHECK(!ec, "StagingDir", "cannot create \"", partial_, "\": ", ec.message());
}

StagingDir::~StagingDir() {
  if (committed_ || kept_) return;
  std::error_code ec;
  fs::remove_all(partial_, ec);  // never throws from a destructor
}

void StagingDir::commit() {
  AD_CHECK(!committed_, "StagingDir::commit", "\"", final_, "\" already committed");
  // Another process may finish a folder of the same name at the same moment (two runs started in the same
  // second): take the first free name of final, final-2, final-3, ... The rename itself refuses to replace
  // (RENAME_NOREPLACE), so two processes can never both take one name.
  for (int k = 1; k <= kMaxNameTries; ++k) {
    const std::string target = k == 1 ? final_ : final_ + "-" + std::to_string(k);
    int rc = ::renameat2(AT_FDCWD, partial_.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
      // A file system without RENAME_NOREPLACE: rename(2) still refuses a non-empty folder, and a finished
      // run folder is never empty; an existing plain file or empty folder is skipped here.
      std::error_code ec;
      if (fs::exists(target, ec)) {
        errno = EEXIST;
      } else {
        rc = ::rename(partial_.c_str(), target.c_str());
      }
    }
    if (rc == 0) {
      final_ = target;
      committed_ = true;
      return;
    }
    if (errno != EEXIST && errno != ENOTEMPTY)
      AD_FAIL("StagingDir::commit", "cannot rename \"", partial_, "\" to \"", target, "\": ", std::strerror(errno));
  }
  kept_ = true;  // the finished results must not be thrown away because of name clashes
  AD_FAIL("StagingDir::commit", "\"", final_, "\" and ", kMaxNameTries - 1,
          " numbered names after it already exist; the results stay in \"", partial_, "\"");
}

}  // namespace ad
