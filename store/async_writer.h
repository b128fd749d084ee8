#pragma once
// A StoreWriter on its own thread behind a queue bounded in bytes: the next batch computes while the previous one
// is written, and memory stays bounded whatever the corpus size (a producer faster than the disk waits).
// Written batches are committed at least every `commit_seconds`, and, with `commit_when_idle`, also whenever the
// queue is empty. Each commit writes the partly filled last chunk of every dataset whole (a compressed one at a new
// place in the file, the old copy staying for crash safety), which is why compressed stores commit less often.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "store/store_writer.h"

namespace moulin {

class AsyncWriter {
 public:
  // Called on the writer thread after each commit, with the new counts and the bytes the commit added.
  using OnCommit = std::function<void(const CommitCounts& committed, std::int64_t batch_bytes)>;

  // `max_queued_bytes`: batches waiting to be written may hold this much (at least one batch always fits).
  AsyncWriter(StoreWriter writer, std::int64_t max_queued_bytes, OnCommit on_commit, double commit_seconds = 1.0,
              bool commit_when_idle = true);
  // Without finish() (an error elsewhere): still writes every batch already queued, then closes the store
  // unfinished, so nothing computed is lost. Never throws.
  ~AsyncWriter();
  AsyncWriter(const AsyncWriter&) = delete;
  AsyncWriter& operator=(const AsyncWriter&) = delete;

  // Queues a batch, waiting while the queue is full. Throws the writer's error (FileError) if writing failed.
  void push(WriteBatch batch);
  // Writes what is queued, then closes the store (marked complete when asked). Throws the writer's error.
  void finish(bool complete);

  // Seconds push() spent waiting for room: the time the disk, not the model, was the limit.
  double wait_seconds() const { return wait_seconds_; }

 private:
  void run();
  void stop_and_join();

  StoreWriter writer_;
  const std::int64_t max_queued_bytes_;
  OnCommit on_commit_;
  const double commit_seconds_;
  const bool commit_when_idle_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<WriteBatch> queue_;
  std::int64_t queued_bytes_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
  double wait_seconds_ = 0;
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace moulin
