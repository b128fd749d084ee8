// A real dump, run in a child process, is killed with SIGKILL at random moments (while starting, creating the file,
// computing, writing or committing), uncompressed and compressed. Each time, the file must open (with moulin's reader and with plain h5py), hold at
// least every batch the child reported as committed, agree with an uninterrupted dump on all of it, and a resume must
// finish it with no gap and no repeated token.
#include <chrono>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "core/runtime.h"
#include "store/activation_store.h"
#include "store/dump.h"
#include "tests/store/store_support.h"
#include "tests/support/golden.h"
#include "tests/support/temp_dir.h"

namespace moulin {
namespace {

using test::TempDir;

// What plain h5py reads agrees with moulin's reader.
void expect_h5py_agrees(const ActivationStore& store) {
  const auto summary = test::h5py_summary(store.path());
  ASSERT_EQ(summary["committed"]["tokens"].get<std::int64_t>(), store.tokens());
  ASSERT_EQ(summary["committed"]["documents"].get<std::int64_t>(), store.documents());
  std::vector<std::int64_t> rows(static_cast<std::size_t>(store.tokens()));
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<std::int64_t>(i);
  const at::Tensor ids = store.token_ids(rows).to(at::kLong);
  ASSERT_EQ(summary["ids"].get<std::vector<std::int64_t>>(),
            std::vector<std::int64_t>(ids.data_ptr<std::int64_t>(), ids.data_ptr<std::int64_t>() + ids.numel()));
  for (const auto& hook : store.hooks()) {
    const double sum = store.read(hook).to(at::kDouble).sum().item<double>();
    EXPECT_NEAR(summary["sums"][hook].get<double>(), sum, 1e-9 * (1 + std::abs(sum))) << hook;
  }
}

TEST(StoreCrash, AKilledDumpKeepsEveryReportedBatchAndResumesWithoutGapOrRepeat) {
  TempDir dir;
  test::write_ids_corpus(dir / "c.jsonl", test::random_documents(240, 1, 60, 512, 21));
  test::ChildDump child{test::golden_model("tiny-gqa"), dir / "c.jsonl", dir / "unused.h5", 2,
                        {"hook_embed", "blocks.*.hook_resid_post", "blocks.0.attn.hook_z"}};
  init_runtime();
  const LlamaModel model = LlamaModel::load(child.model);
  DumpOptions reference_options = test::child_dump_options(child);
  reference_options.out = dir / "reference.h5";
  reference_options.commit_seconds = 1;  // the same content, fewer flushes
  const auto reference_result = dump_activations(model, nullptr, reference_options);
  const ActivationStore reference = ActivationStore::open(reference_options.out);
  ASSERT_GT(reference_result.batches, 50);

  const auto seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  std::mt19937_64 random(seed);
  SCOPED_TRACE("random seed " + std::to_string(seed));
  constexpr int kRuns = 8;
  int killed_midway = 0;  // kills that left some but not all of the dump: the case this test is about
  for (int run = 0; run < kRuns; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    child.out = dir / ("killed-" + std::to_string(run) + ".h5");
    child.resume = false;
    // Compressed chunks move in the file each time they are rewritten: odd runs check that too.
    child.compression = run % 2 == 1 ? "gzip:1" : "none";
    // Every third run is killed twice: its resume is killed too.
    for (int kill = 0; kill < (run % 3 == 2 ? 2 : 1); ++kill) {
      test::ChildProcess process(child);
      // The first run of each kind dies early (starting up or creating the file), the others anywhere in the dump.
      const std::int64_t commits = run == 0 ? 0 : std::uniform_int_distribution<std::int64_t>(1, reference_result.batches - 5)(random);
      std::int64_t reported = 0;
      for (std::int64_t i = 0; i < commits; ++i) {
        const auto tokens = process.next_commit();
        if (tokens < 0) break;
        reported = tokens;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(
          run == 0 ? std::uniform_int_distribution<int>(0, 1500000)(random) : std::uniform_int_distribution<int>(0, 3000)(random)));
      process.kill_now();
      process.wait();
      child.resume = true;
      if (!std::filesystem::exists(child.out)) {
        ASSERT_EQ(reported, 0) << "commits were reported but there is no file";
        continue;
      }
      const ActivationStore killed = ActivationStore::open(child.out);
      ASSERT_GE(killed.tokens(), reported);
      if (killed.tokens() > 0 && killed.tokens() < reference.tokens()) ++killed_midway;
      // Tokens and documents exactly; activations to rounding (the child runs one thread, resumed batches are
      // composed differently).
      test::expect_same_store(reference, killed, 1e-5, killed.tokens(), killed.documents());
      expect_h5py_agrees(killed);
    }
    test::ChildProcess resume(child);
    while (resume.next_commit() >= 0) {
    }
    ASSERT_EQ(resume.wait(), 0) << resume.stderr_text();
    const ActivationStore finished = ActivationStore::open(child.out);
    EXPECT_TRUE(finished.complete());
    EXPECT_EQ(finished.tokens(), reference.tokens());
    EXPECT_EQ(finished.documents(), reference.documents());
    test::expect_same_store(reference, finished, 1e-5);
    if (run == 0) expect_h5py_agrees(finished);
  }
  EXPECT_GE(killed_midway, kRuns / 2);
}

}  // namespace
}  // namespace moulin
