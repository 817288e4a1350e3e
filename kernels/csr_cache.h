// State derived from a CSR matrix's buffers once and reused on every later call with the same matrix: the
// SpMM's cast index copy, its cuSPARSE descriptors and buffer (spmm.cu). A model calls SpMM with the same
// graph every step; rebuilding those per call cost a cast kernel, descriptor set-up and a buffer-size query
// each time.
//
// Key and invalidation: an entry is keyed by the addresses of row_ptr, col and val and by the shape, and it
// holds weak references to their storage. It is used only while all three storages are still alive; once
// any is freed the entry is stale (a new matrix may reuse the addresses) and is rebuilt on the next lookup,
// and stale entries are dropped then. What it cannot see: index arrays rewritten in place. A CsrMatrix's
// row_ptr and col are never modified after construction here (to(Device) makes new storage); values may
// change in place freely, since an entry points at them rather than copying them. At most `capacity`
// entries (least recently used goes first). Thread-safe.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "runtime/csr.h"

namespace ad {

template <class Entry> class CsrDerivedCache {
 public:
  explicit CsrDerivedCache(size_t capacity = 8) : capacity_(capacity) {}

  // The entry for `m`, made by make() on the first call for these buffers or after any of them was freed.
  // The reference stays valid until a later get() evicts it (callers use it before the next get()).
  Entry& get(const CsrMatrix& m, const std::function<std::unique_ptr<Entry>()>& make) {
    std::lock_guard<std::mutex> lock(mu_);
    const Key key = key_of(m);
    ++clock_;
    for (size_t i = 0; i < slots_.size();) {
      Slot& s = slots_[i];
      if (!s.alive()) {  // freed buffers: stale whatever its key
        slots_.erase(slots_.begin() + long(i));
        continue;
      }
      if (s.key == key) {
        s.last_use = clock_;
        return *s.entry;
      }
      ++i;
    }
    if (slots_.size() >= capacity_) {
      size_t oldest = 0;
      for (size_t i = 1; i < slots_.size(); ++i)
        if (slots_[i].last_use < slots_[oldest].last_use) oldest = i;
      slots_.erase(slots_.begin() + long(oldest));
    }
    Slot s;
    s.key = key;
    s.row_ptr = m.row_ptr.storage_lifetime();
    s.col = m.col.storage_lifetime();
    s.val = m.has_values() ? m.val.storage_lifetime() : std::weak_ptr<const void>();
    s.has_val = m.has_values();
    s.entry = make();
    s.last_use = clock_;
    ++builds_;
    slots_.push_back(std::move(s));
    return *slots_.back().entry;
  }

  size_t builds() const {
    std::lock_guard<std::mutex> lock(mu_);
    return builds_;
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return slots_.size();
  }

 private:
  struct Key {
    const void *row_ptr, *col, *val;
    int64_t rows, cols, nnz;
    bool operator==(const Key& o) const {
      return row_ptr == o.row_ptr && col == o.col && val == o.val && rows == o.rows && cols == o.cols &&
             nnz == o.nnz;
    }
  };
  struct Slot {
    Key key;
    std::weak_ptr<const void> row_ptr, col, val;
    bool has_val = false;
    std::unique_ptr<Entry> entry;
    uint64_t last_use = 0;
    bool alive() const { return !row_ptr.expired() && !col.expired() && (!has_val || !val.expired()); }
  };
  static Key key_of(const CsrMatrix& m) {
    return Key{m.row_ptr.raw(), m.col.raw(), m.has_values() ? m.val.raw() : nullptr, m.rows, m.cols, m.nnz()};
  }

  size_t capacity_;
  mutable std::mutex mu_;
  std::vector<Slot> slots_;
  uint64_t clock_ = 0;
  size_t builds_ = 0;
};

}  // namespace ad
