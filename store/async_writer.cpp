#include "store/async_writer.h"

#include <chrono>
#include <utility>

namespace moulin {

AsyncWriter::AsyncWriter(StoreWriter writer, std::int64_t max_queued_bytes, OnCommit on_commit, double commit_seconds,
                         bool commit_when_idle)
    : writer_(std::move(writer)), max_queued_bytes_(max_queued_bytes), on_commit_(std::move(on_commit)),
      commit_seconds_(commit_seconds), commit_when_idle_(commit_when_idle), thread_([this] { run(); }) {}

AsyncWriter::~AsyncWriter() {
  try {
    stop_and_join();
    writer_.close(/*complete=*/false);
  } catch (...) {  // the error that brought us here is the one to report
  }
}

void AsyncWriter::run() {
  h5::quiet();
  using Clock = std::chrono::steady_clock;
  const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(commit_seconds_));
  auto last_commit = Clock::now();
  std::int64_t uncommitted_bytes = 0;
  const auto commit = [&] {
    writer_.commit();
    last_commit = Clock::now();
    if (on_commit_) on_commit_(writer_.committed(), std::exchange(uncommitted_bytes, 0));
  };
  const auto fail = [&](std::unique_lock<std::mutex>& lock) {
    if (!lock.owns_lock()) lock.lock();
    error_ = std::current_exception();
    queue_.clear();
    queued_bytes_ = 0;
    changed_.notify_all();
  };
  for (;;) {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto ready = [&] { return !queue_.empty() || stopping_; };
    if (uncommitted_bytes > 0) {
      // Written batches wait for the next one at most until their commit is due.
      if (!changed_.wait_until(lock, last_commit + interval, ready)) {
        lock.unlock();
        try {
          commit();
        } catch (...) {
          fail(lock);
          return;
        }
        continue;
      }
    } else {
      changed_.wait(lock, ready);
    }
    if (queue_.empty()) return;  // stopping, and everything queued is written (close() commits it)
    WriteBatch& batch = queue_.front();
    const std::int64_t bytes = batch.bytes();
    lock.unlock();
    try {
      writer_.append(batch);
      uncommitted_bytes += bytes;
      lock.lock();
      const bool idle = queue_.size() == 1;  // only this batch: nothing else to write now
      lock.unlock();
      if ((idle && commit_when_idle_) || Clock::now() - last_commit >= interval) commit();
    } catch (...) {
      fail(lock);
      return;
    }
    lock.lock();
    queue_.pop_front();
    queued_bytes_ -= bytes;
    changed_.notify_all();
  }
}

void AsyncWriter::push(WriteBatch batch) {
  const std::int64_t bytes = batch.bytes();
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return error_ || queue_.empty() || queued_bytes_ + bytes <= max_queued_bytes_; });
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (error_) std::rethrow_exception(error_);
  queued_bytes_ += bytes;
  queue_.push_back(std::move(batch));
  changed_.notify_all();
}

void AsyncWriter::stop_and_join() {
  if (!thread_.joinable()) return;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void AsyncWriter::finish(bool complete) {
  stop_and_join();
  if (error_) std::rethrow_exception(error_);
  writer_.close(complete);
}

}  // namespace moulin
