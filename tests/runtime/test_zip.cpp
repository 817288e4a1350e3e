// runtime/zip.cpp against archives written by Python's zipfile (tools/reference/make_zip_fixtures.py).
#include <gtest/gtest.h>

#include <string>

#include "runtime/error.h"
#include "runtime/fs_util.h"
#include "runtime/zip.h"
#include "tests/support/helpers.h"

namespace ad {
namespace {

std::string fixture(const std::string& name) {
  return test::source_dir() + "/tests/data/zip/" + name;
}

TEST(Zip, DeflatedMemberMatchesTheOriginalText) {
  const std::string want = read_file_bytes(fixture("member.txt"), "test");
  ASSERT_GT(want.size(), 10000u);
  EXPECT_EQ(read_zip_member(fixture("deflated.zip")), want);
  EXPECT_EQ(read_zip_member(fixture("deflated.zip"), "member.txt"), want);
  EXPECT_EQ(read_maybe_zipped(fixture("deflated.zip"), "test"), want);
  EXPECT_EQ(read_maybe_zipped(fixture("member.txt"), "test"), want);
}

TEST(Zip, StoredMembersByName) {
  EXPECT_EQ(zip_members(fixture("stored_two.zip")), (std::vector<std::string>{"a.txt", "b.txt"}));
  EXPECT_EQ(read_zip_member(fixture("stored_two.zip"), "a.txt"), "alpha\n");
  EXPECT_EQ(read_zip_member(fixture("stored_two.zip"), "b.txt"), "beta\n");
}

TEST(IoErrorsZip, DamagedMissingAmbiguousAndNotAZip) {
  using test::error_contains;
  // One flipped byte: zlib fails or the CRC-32 check does; either way the archive is refused.
  EXPECT_TRUE(error_contains([] { read_zip_member(fixture("damaged.zip")); }, "damaged.zip: member.txt"));
  EXPECT_TRUE(error_contains([] { read_zip_member(fixture("stored_two.zip")); }, "expected one member, found 2"));
  EXPECT_TRUE(error_contains([] { read_zip_member(fixture("stored_two.zip"), "c.txt"); }, "no member named \"c.txt\""));
  EXPECT_TRUE(error_contains([] { read_zip_member(fixture("member.txt")); }, "not a zip archive"));
  EXPECT_TRUE(error_contains([] { read_zip_member(fixture("absent.zip")); }, "absent.zip"));
}

}  // namespace
}  // namespace ad
