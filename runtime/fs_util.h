// Filesystem helpers so that an interrupted run never leaves a file or folder that looks finished.
#pragma once
#include <string>
#include <string_view>

namespace ad {

// Writes `content` byte for byte to path + ".tmp", flushes it to disk, then renames it onto `path`
// (rename is atomic on POSIX, so readers see the old file or the whole new one).
void write_text_atomic(const std::string& path, std::string_view content);

// The whole file as bytes; `op` names the caller in the error ("op: cannot open "p": No such file").
std::string read_file_bytes(const std::string& path, const char* op);

// A folder filled under "<final>.partial-<pid>" and renamed to `final_path` by commit().
// Without commit() (an exception, an early return) the destructor removes the partial folder.
// commit() never replaces an existing folder: when `final_path` exists (another run finished under the same
// name, e.g. started in the same second) it takes "<final_path>-2", "-3", ... (final_path() then says which);
// only past kMaxNameTries names does it fail, keeping the partial folder. Nothing but the partial folder is
// ever removed.
class StagingDir {
 public:
  explicit StagingDir(std::string final_path);
  ~StagingDir();
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;

  const std::string& path() const { return partial_; }  // write here
  const std::string& final_path() const { return final_; }  // after commit(): the name it took
  static constexpr int kMaxNameTries = 1000;
  std::string file(const std::string& name) const { return partial_ + "/" + name; }
  void commit();
  bool committed() const { return committed_; }

 private:
  std::string final_, partial_;
  bool committed_ = false;
  bool kept_ = false;
};

}  // namespace ad
