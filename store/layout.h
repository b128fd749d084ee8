#pragma once
// Every name of the activation store's HDF5 layout, spelled once. docs/hdf5-layout.md describes each; the writer
// (store/store_writer.cpp), the reader (store/activation_store.cpp) and python/moulin/store.py use these.
#include <array>
#include <cstdint>

namespace moulin::layout {

inline constexpr const char* kFormat = "moulin-activations";
inline constexpr std::int64_t kFormatVersion = 1;

// Root attributes.
inline constexpr const char* kAttrFormat = "format";
inline constexpr const char* kAttrFormatVersion = "format_version";
inline constexpr const char* kAttrMoulinVersion = "moulin_version";
inline constexpr const char* kAttrModelPath = "model_path";
inline constexpr const char* kAttrModelConfig = "model_config";  // config.json as read (JSON text)
inline constexpr const char* kAttrModelDtype = "model_dtype";    // dtype the model ran in
inline constexpr const char* kAttrTokenizer = "tokenizer";       // tokenizer.json used ("" for ids corpora)
inline constexpr const char* kAttrDtype = "dtype";               // stored dtype of the activations
inline constexpr const char* kAttrHooks = "hooks";               // hook names, forward order
inline constexpr const char* kAttrCommand = "command";           // the command that created the file
inline constexpr const char* kAttrOptions = "options";           // the dump options (JSON text)
inline constexpr const char* kAttrCreated = "created";           // UTC, ISO 8601
// On each activation dataset: its hook name and stored dtype (bfloat16 datasets hold uint16 bit patterns).
inline constexpr const char* kAttrHook = "hook";

// The commit record: the counts of every appendable dataset that a reader may trust, rewritten after each batch
// is on disk. Rows past these counts are the remains of a batch that was being written when the writer died.
inline constexpr const char* kCommitted = "committed";
enum CommitField : std::size_t { kTokens, kDocuments, kTextBytes, kLabelBytes, kRunBytes, kComplete, kCommitFields };
inline constexpr std::array<const char*, kCommitFields> kCommitFieldNames = {
    "tokens", "documents", "text_bytes", "label_bytes", "run_bytes", "complete"};
inline constexpr const char* kAttrFields = "fields";

// Per stored token (rows of every activation dataset).
inline constexpr const char* kTokenId = "tokens/id";                         // int32
inline constexpr const char* kTokenDocument = "tokens/document";             // int64
inline constexpr const char* kTokenPosition = "tokens/position";             // int32, index in the document
inline constexpr const char* kTokenWindowPosition = "tokens/window_position";  // int32, position the model saw

// Per document.
inline constexpr const char* kDocFirstToken = "documents/first_token";  // int64, row of its first stored token
inline constexpr const char* kDocStored = "documents/stored";           // int64, rows stored for it
inline constexpr const char* kDocLength = "documents/length";           // int64, tokens in the document
inline constexpr const char* kDocLine = "documents/line";               // int64, 1-based corpus line
inline constexpr const char* kDocTextOffset = "documents/text_offset";  // int64 into documents/text
inline constexpr const char* kDocTextLength = "documents/text_length";
inline constexpr const char* kDocLabelOffset = "documents/label_offset";  // int64 into documents/labels
inline constexpr const char* kDocLabelLength = "documents/label_length";
inline constexpr const char* kDocText = "documents/text";      // uint8, UTF-8 texts one after another
inline constexpr const char* kDocLabels = "documents/labels";  // uint8, one JSON object per document

// One JSON object per run (the creating run, then each resume), newline-terminated, uint8.
inline constexpr const char* kRuns = "runs";

}  // namespace moulin::layout
