// Seeded random strings aimed at the pre-tokenizer regex and the added-token matcher: each fragment family
// below exercises one alternative of Llama 3's pattern or one place where regex engines disagree.
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/tokenizer_utf8.h"
#include "tests/tokenizer/corpus.h"

namespace moulin::test {
namespace {

using tokenizer_detail::append_utf8;

class Fragments {
 public:
  explicit Fragments(std::uint32_t seed) : random_(seed) {}

  std::string next_string() {
    std::string text;
    const int fragments = 1 + below(40);
    for (int i = 0; i < fragments; ++i) families_[below(static_cast<int>(families_.size()))](*this, text);
    return text;
  }

 private:
  using Family = std::function<void(Fragments&, std::string&)>;

  int below(int bound) { return static_cast<int>(random_() % static_cast<std::uint32_t>(bound)); }
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[below(static_cast<int>(items.size()))];
  }
  void code_point(std::string& out, char32_t c) { append_utf8(out, c); }
  void code_point_in(std::string& out, char32_t first, char32_t last) {
    code_point(out, first + static_cast<char32_t>(below(static_cast<int>(last - first + 1))));
  }
  void repeat(std::string& out, int max_times, const std::function<void()>& fragment) {
    const int times = 1 + below(max_times);
    for (int i = 0; i < times; ++i) fragment();
  }

  // Every White_Space character, plus characters some engines treat as space and Unicode does not.
  static const std::vector<char32_t>& whitespace() {
    static const std::vector<char32_t> characters = {
        ' ',    '\t',   '\n',   '\r',   0x0B,   0x0C,   0x85,   0xA0,   0x1680, 0x2000, 0x2001, 0x2002,
        0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F,
        0x3000, 0xFEFF, 0x180E, 0x200B, 0x200C, 0x200D, 0x1C,   0x1D,   0x1E,   0x1F,   0x2060};
    return characters;
  }

  std::mt19937 random_;
  std::vector<Family> families_ = {
      // whitespace runs of mixed classes, with or without line breaks, often before a word
      [](Fragments& f, std::string& out) {
        f.repeat(out, 6, [&] { f.code_point(out, f.pick(whitespace())); });
        if (f.below(2)) out += f.pick(std::vector<std::string>{"word", "Mot", "é", "1", "!", "\n", "x"});
      },
      // plain ASCII words and spaces (the common case)
      [](Fragments& f, std::string& out) {
        static const std::vector<std::string> words = {"the", " the", " quick", " brown", "fox", " Jumps", "OVER",
                                                       " lazy", "dog", " a", " I", "hello", " world", "  "};
        f.repeat(out, 8, [&] { out += f.pick(words); });
      },
      // French and other Latin-script text with accents, ligatures and special cases
      [](Fragments& f, std::string& out) {
        static const std::vector<std::string> words = {
            " l'été", " c'est", " aujourd'hui", " Ça", " où", " naïve", " cœur", " Œuvre", " straße", " Straße",
            " İstanbul", " ıi", " ǅemal", " ﬁn", " Ǆ", " ÆØÅ", " ñandú", " façade", " déjà-vu", " ÉCOLE"};
        f.repeat(out, 6, [&] { out += f.pick(words); });
      },
      // apostrophe contractions in every case, curly quotes and look-alikes (long s, Kelvin sign)
      [](Fragments& f, std::string& out) {
        static const std::vector<std::string> stems = {"it", "don", "we", "they", "I", "you", "she", " x", "", " "};
        static const std::vector<std::string> endings = {
            "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Re", "'rE", "'VE", "'vE", "'M",
            "'LL", "'Ll", "'lL", "'D", "’s", "’ll", "'ſ", "'K", "'ss", "''s", "'", "'x", "'dd", "'lll", "'ſt"};
        f.repeat(out, 4, [&] {
          out += f.pick(stems);
          out += f.pick(endings);
          if (f.below(2)) out += f.pick(std::vector<std::string>{"", " ", "x", "ing", "1", "\n", "'"});
        });
      },
      // digit runs of every length and kind (ASCII, Arabic-Indic, fullwidth, superscripts, numerals, fractions)
      [](Fragments& f, std::string& out) {
        const int kind = f.below(5);
        f.repeat(out, 12, [&] {
          if (kind == 0) f.code_point_in(out, '0', '9');
          if (kind == 1) f.code_point_in(out, 0x0660, 0x0669);
          if (kind == 2) f.code_point_in(out, 0xFF10, 0xFF19);
          if (kind == 3) f.code_point(out, f.pick(std::vector<char32_t>{0xB2, 0xB3, 0xB9, 0x2070, 0xBD, 0x2153}));
          if (kind == 4) f.code_point_in(out, 0x2160, 0x2188);
        });
        if (f.below(3) == 0) out += f.pick(std::vector<std::string>{"abc", " ", ".", ",5", "px", "\n"});
      },
      // combining marks stacked on letters, spaces and digits
      [](Fragments& f, std::string& out) {
        out += f.pick(std::vector<std::string>{"e", " ", "a", "1", "", "'", "\n", "ก"});
        f.repeat(out, 4, [&] { f.code_point_in(out, 0x0300, 0x036F); });
        if (f.below(2)) f.code_point(out, f.pick(std::vector<char32_t>{0x20DD, 0x0E31, 0x093F, 0x05B8, 0xFE0F}));
      },
      // emoji: plain, ZWJ families, skin tones, flags, keycaps, variation selectors
      [](Fragments& f, std::string& out) {
        static const std::vector<std::string> emoji = {
            "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "🇺🇸🇯🇵", "1️⃣", "❤️", "👩🏾‍💻", "🧑‍🤝‍🧑", "☕", "🦀", "✊🏿", "🫠", "🏴‍☠️"};
        f.repeat(out, 5, [&] {
          if (f.below(3) == 0) out += ' ';
          out += f.pick(emoji);
        });
      },
      // CJK, kana, Hangul (precomposed and jamo), full-width punctuation
      [](Fragments& f, std::string& out) {
        const int script = f.below(5);
        f.repeat(out, 10, [&] {
          if (script == 0) f.code_point_in(out, 0x4E00, 0x9FFF);
          if (script == 1) f.code_point_in(out, 0x3041, 0x30FF);
          if (script == 2) f.code_point_in(out, 0xAC00, 0xD7A3);
          if (script == 3) f.code_point_in(out, 0x1100, 0x11FF);
          if (script == 4) f.code_point(out, f.pick(std::vector<char32_t>{0x3001, 0x3002, 0xFF01, 0x300C, 0x300D}));
        });
      },
      // right-to-left and Indic scripts, with direction marks
      [](Fragments& f, std::string& out) {
        static const std::vector<std::string> texts = {" مرحبا", " بالعالم", " שלום", "\u200F", "\u200E",
                                                       " नमस्ते", " ไทย", " Привет", " Ελλάδα", " ქართ", " ሰላም"};
        f.repeat(out, 4, [&] { out += f.pick(texts); });
      },
      // special-token strings: whole, broken, nested, glued to text
      [](Fragments& f, std::string& out) {
        static const std::vector<std::string> tokens = {
            "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>",
            "<|reserved_special_token_0|>", "<|reserved_special_token_250|>", "<|reserved_special_token_7|>",
            "<|eot_id", "<|begin_of_text|", "|>", "<|", "<<|eot_id|>>", "<|eot_id|eot_id|>",
            "<|reserved_special_token_251|>", "<|EOT_ID|>", "<", "<|start_header_id|>user<|end_header_id|>\n\n"};
        f.repeat(out, 3, [&] {
          if (f.below(2)) out += f.pick(std::vector<std::string>{" ", "x", "\n", "é", "1"});
          out += f.pick(tokens);
        });
      },
      // punctuation and symbol runs, the " ?[^\s\p{L}\p{N}]+[\r\n]*" alternative
      [](Fragments& f, std::string& out) {
        static const std::string symbols = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~";
        if (f.below(2)) out += ' ';
        f.repeat(out, 6, [&] { out += symbols[f.below(static_cast<int>(symbols.size()))]; });
        if (f.below(2)) f.code_point(out, f.pick(std::vector<char32_t>{0x2014, 0x2026, 0xAB, 0xBB, 0x20AC, 0x221E, 0x2192}));
        if (f.below(3) == 0) out += f.pick(std::vector<std::string>{"\n", "\r\n", "\n\n", "\r"});
      },
      // code
      [](Fragments& f, std::string& out) {
        static const std::vector<std::string> code = {
            "for (int i = 0; i < n; ++i) {\n", "    return x->y;\n", "}\n", "if (a && b || !c) {", "std::vector<int>",
            "def f(x):\n\treturn x**2\n", "#include <stdio.h>\n", "x += 1; // comment\n", "0x1F", "1e-10",
            "\"string\\n\"", "    \n", "\t\t", "=>", "::", "...", "/* */", "https://example.org/a?b=c&d=é"};
        f.repeat(out, 4, [&] { out += f.pick(code); });
      },
      // long runs: spaces, newlines, one letter, digits, symbols (some beyond the word cache's length limit)
      [](Fragments& f, std::string& out) {
        static const std::vector<std::string> units = {" ", "\n", "a", "é", "9", "-", "\r\n", "\u3000", "ab"};
        const auto& unit = f.pick(units);
        const int times = 1 + f.below(f.below(4) == 0 ? 300 : 40);
        for (int i = 0; i < times; ++i) out += unit;
      },
      // random code points from every plane (no surrogates, no nonchars over U+10FFFF)
      [](Fragments& f, std::string& out) {
        f.repeat(out, 6, [&] {
          const int range = f.below(4);
          char32_t c = 0;
          if (range == 0) c = static_cast<char32_t>(0x20 + f.below(0x7F - 0x20));
          if (range == 1) c = static_cast<char32_t>(0xA0 + f.below(0x3000));
          if (range == 2) c = static_cast<char32_t>(f.below(0xD800));
          if (range == 3) c = static_cast<char32_t>(0x10000 + f.below(0x100000));
          if (c == 0) c = ' ';
          f.code_point(out, c);
        });
      },
      // random printable ASCII with digits and letters glued together
      [](Fragments& f, std::string& out) {
        f.repeat(out, 12, [&] { out += static_cast<char>(0x20 + f.below(0x5F)); });
      },
  };
};

}  // namespace

std::vector<std::string> random_unicode_strings(std::size_t count, std::uint32_t seed) {
  Fragments fragments(seed);
  std::vector<std::string> strings;
  strings.reserve(count);
  for (std::size_t i = 0; i < count; ++i) strings.push_back(fragments.next_string());
  return strings;
}

}  // namespace moulin::test
