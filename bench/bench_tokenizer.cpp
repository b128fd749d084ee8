// Tokenizer throughput: moulin's encode against Hugging Face tokenizers (the Rust library, through its Node
// binding) on the same texts in the same run, both on one thread. The texts are the tokenizer tests' Debian
// corpus and source code, encoded as the tests' small units (a few KB, one call each) and joined into 256 KB
// documents (where per-call overhead vanishes). Figures are medians of repeated passes; the oracle's time is
// measured inside node around the encode calls only.
//
//   moulin_bench_tokenizer [--repeats N] [--man-pages N]
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/tokenizer.h"
#include "tests/tokenizer/corpus.h"
#include "tests/tokenizer/oracle.h"

namespace moulin::bench {
namespace {

constexpr std::size_t kDocumentBytes = 256 * 1024;

struct Throughput {
  double seconds = 0;
  std::size_t tokens = 0;
};

// Median pass over `texts`, each encoded by one call, on this thread.
Throughput measure_moulin(const Tokenizer& tokenizer, const std::vector<std::string>& texts, int repeats) {
  std::vector<double> seconds;
  std::size_t tokens = 0;
  for (int repeat = 0; repeat < repeats; ++repeat) {
    tokens = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const auto& text : texts) tokens += tokenizer.encode(text, {false, true}).size();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return {seconds[seconds.size() / 2], tokens};
}

std::vector<std::string> joined(const std::vector<std::string>& texts, std::size_t document_bytes) {
  std::vector<std::string> documents(1);
  for (const auto& text : texts) {
    if (documents.back().size() >= document_bytes) documents.emplace_back();
    documents.back() += text;
  }
  return documents;
}

int run(int repeats, std::size_t man_pages) {
  const test::Oracle oracle;
  auto corpus = test::load_debian_corpus(man_pages);
  const auto code = test::load_source_code_corpus();
  corpus.texts.insert(corpus.texts.end(), code.texts.begin(), code.texts.end());
  const auto tokenizer_json = oracle.llama3_tokenizer_json();
  const auto tokenizer = Tokenizer::from_file(tokenizer_json);
  const double megabytes = static_cast<double>(corpus.bytes()) / 1e6;
  fmt::print("moulin tokenizer benchmark: Llama 3 tokenizer, {:.2f} MB of Debian text and source code, one thread, "
             "median of {} passes\n\n",
             megabytes, repeats);
  fmt::print("{:<14} {:>10} {:>12} {:>12} {:>12} {:>8}\n", "texts", "count", "moulin MB/s", "HF MB/s", "tokens",
             "ratio");

  bool same_tokens = true;
  for (const auto& [label, texts] : {std::pair{"units (~4 KB)", corpus.texts},
                                     std::pair{"docs (256 KB)", joined(corpus.texts, kDocumentBytes)}}) {
    const auto moulin = measure_moulin(tokenizer, texts, repeats);
    const auto reference = oracle.bench_encode(tokenizer_json, texts, repeats);
    const double moulin_rate = megabytes / moulin.seconds;
    const double reference_rate = megabytes / reference.at("seconds").get<double>();
    same_tokens = same_tokens && reference.at("tokens").get<std::size_t>() == moulin.tokens;
    fmt::print("{:<14} {:>10} {:>12.2f} {:>12.2f} {:>12} {:>7.2f}x\n", label, texts.size(), moulin_rate,
               reference_rate, moulin.tokens, moulin_rate / reference_rate);
  }
  fmt::print("\nratio = moulin MB/s / Hugging Face tokenizers MB/s (target >= 1.0); token counts {}\n",
             same_tokens ? "agree" : "DIFFER");
  return same_tokens ? 0 : 1;
}

}  // namespace
}  // namespace moulin::bench

int main(int argc, char** argv) {
  int repeats = 5;
  std::size_t man_pages = 48;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--repeats") == 0) repeats = std::max(1, std::atoi(argv[i + 1]));
    else if (std::strcmp(argv[i], "--man-pages") == 0) man_pages = static_cast<std::size_t>(std::atoi(argv[i + 1]));
  }
  try {
    return moulin::bench::run(repeats, man_pages);
  } catch (const std::exception& error) {
    std::cerr << "moulin_bench_tokenizer: " << error.what() << "\n";
    return 1;
  }
}
