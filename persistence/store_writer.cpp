// The group-commit writer: one thread takes whatever writes are queued and commits them in
// one transaction, so that concurrent writers share one fsync; it answers each write, keeps
// the store's bookkeeping (sequence numbers, pending counts) and tells why writing fails.

#include "persistence/store.hpp"

#include "persistence/table_keys.hpp"

#include <algorithm>
#include <chrono>
#include <future>

#include <sys/statvfs.h>

namespace rundun::persistence {

store::~store() {
  close_writer();
}

void store::close_writer() {
  {
    std::lock_guard guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable())
    writer_.join();
  std::lock_guard guard{mtx_};
  closed_ = true;
}

void store::write(write_fn work, done_fn done) {
  {
    std::lock_guard guard{mtx_};
    if (!closed_) {
      queue_.push_back({std::move(work), std::move(done)});
      queued_.store(queue_.size(), std::memory_order_relaxed);
      cv_.notify_one();
      return;
    }
  }
  if (done)
    done(errc::closed);
}

boost::system::error_code store::write_sync(write_fn work) {
  std::promise<boost::system::error_code> p;
  auto f = p.get_future();
  write(std::move(work), [&p](boost::system::error_code ec) { p.set_value(ec); });
  return f.get();
}

void store::run_writer() {
  std::vector<queued> batch;
  for (;;) {
    {
      std::unique_lock lock{mtx_};
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return; // stopping, and everything queued has been committed
      while (!queue_.empty() && batch.size() < max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_.store(queue_.size(), std::memory_order_relaxed);
    }
    commit(batch);
    batch.clear();
  }
}

/// What one attempt at committing a batch produced: the batch's error (nothing committed) or
/// each write's own outcome.
struct store::batch_outcome {
  boost::system::error_code batch_error;
  std::vector<boost::system::error_code> writes;
};

store::batch_outcome store::apply_batch(std::vector<queued>& batch, bool isolate_writes) {
  batch_outcome out{{}, std::vector<boost::system::error_code>(batch.size())};
  auto parent = lmdb::txn::begin(env_, 0);
  if (!parent) {
    out.batch_error = parent.error();
    return out;
  }
  commit_effects effects;
  // The endpoints' figures, written once per transaction (see list_index::figures_cache):
  // the batch's, or each isolated write's, flushed before that transaction commits.
  list_index::figures_cache batch_figures;
  endpoint_index::tables figure_tables{db_.lists, db_.endpoints};
  for (std::size_t i = 0; i < batch.size(); ++i) {
    list_index::figures_cache own_figures;
    std::optional<lmdb::txn> child;
    if (isolate_writes) {
      // A nested transaction per write: one failing write is undone alone.
      auto c = lmdb::txn::begin(env_, 0, parent->handle());
      if (!c) {
        out.writes[i] = c.error();
        continue;
      }
      child.emplace(std::move(*c));
    }
    write_batch wb{*this, child ? *child : *parent, child ? own_figures : batch_figures, effects};
    auto ec = batch[i].work(wb);
    std::vector<operator_notice> own_notices;
    if (!ec && child)
      ec = own_figures.flush(*child, figure_tables);
    if (!ec && child)
      ec = store_notices(*child, own_figures, own_notices);
    if (ec) {
      if (!isolate_writes) {
        out.batch_error = ec; // the whole transaction aborts; the caller retries isolated
        return out;
      }
      out.writes[i] = ec; // the child aborts in its destructor
      continue;
    }
    if (child)
      if ((out.writes[i] = child->commit()))
        continue;
    effects.merge(std::move(wb.effects_));
    for (auto& n : own_notices)
      effects.notices.push_back(std::move(n));
  }
  if (!isolate_writes) {
    if ((out.batch_error = batch_figures.flush(*parent, figure_tables)))
      return out;
    if ((out.batch_error = store_notices(*parent, batch_figures, effects.notices)))
      return out;
  }
  // A notice's key is a sequence number too: a restart must not give it out again.
  for (auto& n : effects.notices)
    effects.max_seq = std::max(effects.max_seq, n.seq);
  // Batches may commit sequence numbers out of order: only ever raise the stored one.
  if (effects.max_seq > seq_on_disk_)
    out.batch_error = parent->put(db_.meta, seq_meta_key, big_endian(effects.max_seq));
  if (!out.batch_error)
    out.batch_error = write_mark(*parent, effects);
  if (!out.batch_error) {
    // Raised before the commit: a reader that sees this commit's data then reads a mark at
    // least this high, and the writes' callbacks, run next, read exactly this one.
    commit_mark_.fetch_add(1, std::memory_order_acq_rel);
    out.batch_error = parent->commit();
  }
  if (!out.batch_error) {
    auto notices = std::move(effects.notices);
    adopt(std::move(effects));
    if (!notices.empty() && on_notices_)
      on_notices_(std::move(notices));
  }
  return out;
}

boost::system::error_code store::write_mark(lmdb::txn& t, commit_effects& effects) const {
  // At most the lowest sequence number that waits for its first attempt once this commit
  // is durable: the lowest that waited before it (those it ends only raise the true mark),
  // or that it adds. With none waiting, every event stored so far has had its first attempt.
  auto mark = first_attempts_.low_water_mark();
  for (auto& [seq, change] : effects.first_attempts)
    if (change.waiting && (!mark || seq < *mark))
      mark = seq;
  if (!mark)
    mark = std::max(seq_on_disk_, effects.max_seq) + 1;
  if (*mark == mark_on_disk_)
    return {};
  effects.mark_written = *mark;
  return t.put(db_.meta, first_attempt_mark_key, big_endian(*mark));
}

void commit_effects::merge(commit_effects&& other) {
  max_seq = std::max(max_seq, other.max_seq);
  for (auto& [seq, change] : other.first_attempts)
    first_attempts.insert_or_assign(seq, std::move(change));
  for (auto& [endpoint, delta] : other.pending_deltas)
    pending_deltas[endpoint] += delta;
}

void store::adopt(commit_effects&& effects) {
  seq_on_disk_ = std::max(seq_on_disk_, effects.max_seq);
  if (effects.mark_written)
    mark_on_disk_ = *effects.mark_written;
  std::lock_guard guard{counts_mtx_};
  for (auto& [seq, change] : effects.first_attempts) {
    if (change.waiting)
      first_attempts_.add(change.endpoint, seq);
    else
      first_attempts_.remove(change.endpoint, seq);
  }
  for (auto& [endpoint, delta] : effects.pending_deltas) {
    if (delta == 0)
      continue;
    auto& n = pending_counts_[endpoint];
    n = static_cast<std::uint64_t>(std::max<std::int64_t>(0, static_cast<std::int64_t>(n) + delta));
    if (n == 0)
      pending_counts_.erase(endpoint);
  }
}

boost::system::error_code store::explain(boost::system::error_code ec) const {
  // LMDB reports a short write as EIO: a disk that filled in the middle of a commit. Say so
  // when the file system is in fact (nearly) out of space.
  constexpr std::uint64_t nearly_full = 4 << 20;
  if (ec != errc::io_error)
    return ec;
  const char* path = nullptr;
  struct statvfs fs {};
  if (mdb_env_get_path(env_.handle(), &path) == 0 && path && ::statvfs(path, &fs) == 0 &&
      static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize < nearly_full)
    return errc::disk_full;
  return ec;
}

void store::commit(std::vector<queued>& batch) {
  auto started = std::chrono::steady_clock::now();
  // Writes share one transaction. Nested transactions would isolate them, but LMDB copies
  // every page a child touches, which cost more than the writes themselves; so they are
  // only the fallback, when some write in the batch failed. Writes are pure functions of
  // the transaction, so running one again is safe.
  auto out = apply_batch(batch, false);
  if (out.batch_error && batch.size() > 1)
    out = apply_batch(batch, true);
  out.batch_error = explain(out.batch_error);
  if (out.batch_error == errc::panic)
    panicked_.store(true, std::memory_order_relaxed);
  auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  auto micros = elapsed.count();
  stats_.commit_latency.record(elapsed);
  stats_.batches.fetch_add(1, std::memory_order_relaxed);
  stats_.writes.fetch_add(batch.size(), std::memory_order_relaxed);
  stats_.commit_micros_total.fetch_add(static_cast<std::uint64_t>(micros),
                                       std::memory_order_relaxed);
  boost::system::error_code first_failure;
  std::size_t failed = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto ec = out.batch_error ? out.batch_error : out.writes[i];
    if (ec) {
      stats_.failures.fetch_add(1, std::memory_order_relaxed);
      if (!failed++)
        first_failure = ec;
    }
    if (batch[i].done)
      batch[i].done(ec);
  }
  if (failed && on_failure_)
    on_failure_(first_failure, failed);
  note_write_health(first_failure, batch.size() - failed);
}

namespace {

/// Whether `ec` says the store cannot write at all, not that one write was refused.
bool store_cannot_write(boost::system::error_code ec) {
  if (ec.category() != category())
    return false;
  switch (static_cast<errc>(ec.value())) {
  case errc::map_full:
  case errc::io_error:
  case errc::disk_full:
  case errc::read_only:
  case errc::panic:
    return true;
  default:
    return false;
  }
}

} // namespace

void store::note_write_health(boost::system::error_code first_failure, std::size_t stored) {
  if (store_cannot_write(first_failure))
    write_failure_.store(first_failure.value(), std::memory_order_relaxed);
  else if (stored > 0 && !panicked_.load(std::memory_order_relaxed))
    write_failure_.store(0, std::memory_order_relaxed);
}

std::optional<boost::system::error_code> store::write_failure() const {
  if (panicked_.load(std::memory_order_relaxed))
    return make_error_code(errc::panic);
  if (auto v = write_failure_.load(std::memory_order_relaxed))
    return make_error_code(static_cast<errc>(v));
  return std::nullopt;
}

} // namespace rundun::persistence
