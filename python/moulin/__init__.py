"""moulin: a Llama 3 workbench for data poisoning and interpretability research.

The computation lives in the C++ extension ``moulin._moulin``; this package only adapts Python conventions
(torch dtypes, text input, name filters, context managers) around it, in the spirit of TransformerLens::

    model = moulin.Model.from_pretrained("path/to/model", dtype="bfloat16")
    logits, cache = model.run_with_cache("The capital of France is")
    resid = cache["blocks.3.hook_resid_post"]
    with model.hooks([("blocks.3.hook_resid_post", lambda x, hook: x * 0.5)]):
        logits = model("The capital of France is")
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterable, Iterator, Optional, Sequence, Tuple, Union

import torch  # must be imported before the extension: it registers torch.Tensor's Python type

from . import _moulin
from ._moulin import ActivationStore, HookPoint, Tokenizer
from ._moulin import build_organism, evaluate_organism, organism_spec
from ._moulin import detect_language, switch_rate
from ._moulin import hunt, invert, mitigate, patch, probe, scan, target_first_scan

__all__ = ["Model", "Tokenizer", "HookPoint", "ActivationStore", "build_organism", "evaluate_organism",
           "organism_spec", "detect_language", "switch_rate", "scan", "invert", "target_first_scan", "patch", "mitigate",
           "probe", "hunt", "__version__"]
__version__ = "0.1.0"

NameFilter = Union[None, str, Sequence[str], Callable[[str], bool]]
HookFunction = Callable[[torch.Tensor, HookPoint], Optional[torch.Tensor]]
ModelInput = Union[str, Sequence[str], torch.Tensor]

_DTYPE_NAMES = {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}


def _dtype_name(dtype: Union[str, torch.dtype, None]) -> Optional[str]:
    if dtype is None or isinstance(dtype, str):
        return dtype
    if dtype not in _DTYPE_NAMES:
        raise ValueError(f"unsupported dtype {dtype}: use torch.float32, torch.bfloat16 or torch.float16")
    return _DTYPE_NAMES[dtype]


class Model:
    """A Llama 3 model loaded from a Hugging Face checkpoint folder (config.json + safetensors)."""

    def __init__(self, native: "_moulin._Model"):
        self._native = native

    @classmethod
    def from_pretrained(cls, path, dtype: Union[str, torch.dtype] = "float32", device: str = "cpu",
                        tokenizer=None) -> "Model":
        """Loads `path`. dtype: 'float32'/'bfloat16'/'float16' or a torch.dtype; device: 'cpu', 'cuda', 'cuda:N'.
        tokenizer: a tokenizer.json (or folder) for model folders without one."""
        return cls(_moulin._Model.from_pretrained(str(path), _dtype_name(dtype), str(device),
                                                  None if tokenizer is None else str(tokenizer)))

    # -- properties ---------------------------------------------------------------------------------------
    @property
    def config(self) -> dict:
        return self._native.config

    @property
    def tokenizer(self) -> Optional[Tokenizer]:
        return self._native.tokenizer

    @property
    def n_layers(self) -> int:
        return self._native.n_layers

    @property
    def dtype(self) -> torch.dtype:
        return {v: k for k, v in _DTYPE_NAMES.items()}[self._native.dtype]

    @property
    def device(self) -> torch.device:
        return torch.device(self._native.device)

    def hook_names(self) -> list:
        """Every hook point name in forward order."""
        return self._native.hook_names()

    def act_name(self, name: str, layer: int = 0) -> str:
        """TransformerLens' get_act_name: act_name('resid_post', 3) == 'blocks.3.hook_resid_post'."""
        return self._native.act_name(name, layer)

    # -- inputs -------------------------------------------------------------------------------------------
    def to_tokens(self, input: ModelInput, add_special_tokens: bool = True
                  ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """(input_ids [batch, pos], attention_mask or None). Several texts are left-padded, as for generation."""
        if isinstance(input, torch.Tensor):
            return (input.unsqueeze(0) if input.dim() == 1 else input), None
        if self.tokenizer is None:
            raise ValueError("this model has no tokenizer: pass token ids, or load with tokenizer=...")
        texts = [input] if isinstance(input, str) else list(input)
        encoded = [self.tokenizer.encode(text, add_special_tokens=add_special_tokens) for text in texts]
        if len(encoded) == 1:
            return torch.tensor(encoded, dtype=torch.long), None
        width = max(len(ids) for ids in encoded)
        pad = (self.tokenizer.eos_ids or [0])[0]
        ids = torch.full((len(encoded), width), pad, dtype=torch.long)
        mask = torch.zeros((len(encoded), width), dtype=torch.long)
        for row, tokens in enumerate(encoded):
            ids[row, width - len(tokens):] = torch.tensor(tokens, dtype=torch.long)
            mask[row, width - len(tokens):] = 1
        return ids, mask

    def _names(self, names_filter: NameFilter) -> Optional[list]:
        if names_filter is None:
            return None
        if isinstance(names_filter, str):
            return [names_filter]
        if callable(names_filter):
            return [name for name in self.hook_names() if names_filter(name)]
        return list(names_filter)

    def _hooks(self, fwd_hooks: Iterable[Tuple[NameFilter, HookFunction]]) -> list:
        resolved = []
        for names, function in fwd_hooks:
            selected = self._names(names)
            if not selected:
                raise ValueError(f"hook filter {names!r} selects no hook point")
            resolved.append((selected, function))
        return resolved

    # -- running ------------------------------------------------------------------------------------------
    def __call__(self, input: ModelInput, attention_mask: Optional[torch.Tensor] = None,
                 position_ids: Optional[torch.Tensor] = None, return_type: Optional[str] = "logits",
                 stop_at_layer: Optional[int] = None, fwd_hooks=()) -> Optional[torch.Tensor]:
        """Logits [batch, pos, vocab] (float32). return_type: 'logits', 'last' (last position only) or None.
        stop_at_layer=l returns the residual stream entering block l instead."""
        ids, mask = self.to_tokens(input)
        logits = {"logits": "all", "last": "last", None: "none"}[return_type]
        return self._native.forward(ids, attention_mask if attention_mask is not None else mask, position_ids,
                                    self._hooks(fwd_hooks), logits, stop_at_layer)

    forward = __call__

    def forward_residual(self, residual: torch.Tensor, start_at_layer: int, attention_mask=None, fwd_hooks=(),
                         return_type: Optional[str] = "logits", stop_at_layer: Optional[int] = None):
        """Resumes a forward pass from the residual stream entering block `start_at_layer`."""
        logits = {"logits": "all", "last": "last", None: "none"}[return_type]
        return self._native.forward_residual(residual, start_at_layer, attention_mask, self._hooks(fwd_hooks),
                                             logits, stop_at_layer)

    def run_with_hooks(self, input: ModelInput, fwd_hooks: Iterable[Tuple[NameFilter, HookFunction]] = (),
                       **kwargs) -> Optional[torch.Tensor]:
        """One forward with temporary hooks: [(name | [names] | predicate, fn(tensor, hook) -> None | tensor)]."""
        return self(input, fwd_hooks=fwd_hooks, **kwargs)

    def run_with_cache(self, input: ModelInput, names_filter: NameFilter = None,
                       pos_slice: Optional[Tuple[int, int]] = None, cache_dtype=None, cache_device=None,
                       attention_mask: Optional[torch.Tensor] = None, position_ids: Optional[torch.Tensor] = None,
                       fwd_hooks=(), return_type: Optional[str] = "logits") -> Tuple[Optional[torch.Tensor], dict]:
        """(logits, cache): cache maps hook names to tensors. names_filter defaults to every point except
        attention scores and patterns (quadratic in length); pos_slice=(first, last) keeps those positions."""
        ids, mask = self.to_tokens(input)
        logits = {"logits": "all", "last": "last", None: "none"}[return_type]
        return self._native.run_with_cache(ids, self._names(names_filter), pos_slice, _dtype_name(cache_dtype),
                                           None if cache_device is None else str(cache_device),
                                           attention_mask if attention_mask is not None else mask, position_ids,
                                           self._hooks(fwd_hooks), logits)

    def generate(self, input: ModelInput, max_new_tokens: int = 32, do_sample: bool = False,
                 temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, repetition_penalty: float = 1.0,
                 seed: int = 0, stop: Sequence[str] = (), eos_ids: Sequence[int] = (), attention_mask=None,
                 fwd_hooks=(), on_token: Optional[Callable[[int, int], Optional[bool]]] = None,
                 return_stop_reasons: bool = False):
        """Prompt + new token ids [batch, pos + new] (rows that stop early are padded with the pad id).
        Greedy unless do_sample; the same seed gives the same tokens. Several texts are left-padded and decoded
        together through one KV cache. stop: strings that end a row once its new text contains them. eos_ids
        default to the config's and the tokenizer's. fwd_hooks run at every step and see only the new positions.
        on_token(row, token) streams tokens; returning False stops that row."""
        ids, mask = self.to_tokens(input)
        output, reasons = self._native.generate(ids, attention_mask if attention_mask is not None else mask,
                                                max_new_tokens, do_sample, temperature, top_k, top_p,
                                                repetition_penalty, seed, list(stop), list(eos_ids), None,
                                                self._hooks(fwd_hooks), on_token)
        return (output, reasons) if return_stop_reasons else output

    def to_string(self, ids) -> Union[str, list]:
        """Text of token ids ([pos] -> str, [batch, pos] -> list of str)."""
        if self.tokenizer is None:
            raise ValueError("this model has no tokenizer")
        ids = torch.as_tensor(ids)
        if ids.dim() == 1:
            return self.tokenizer.decode(ids.tolist())
        return [self.tokenizer.decode(row.tolist()) for row in ids]

    @contextlib.contextmanager
    def hooks(self, fwd_hooks: Iterable[Tuple[NameFilter, HookFunction]]) -> Iterator["Model"]:
        """Attaches hooks for the duration of a `with` block; they are removed on exit, even after an error."""
        handles = [self._native.add_hook(names, function) for names, function in self._hooks(fwd_hooks)]
        try:
            yield self
        finally:
            for handle in handles:
                self._native.remove_hook(handle)

    def dump(self, out, corpus, hooks: Sequence[str], dtype=None, batch_size: int = 8, context_length: int = 0,
             overlap: int = 0, positions: str = "all", max_tokens: int = 0, resume: bool = False,
             overwrite: bool = False, corpus_format: str = "auto", text_field: str = "text",
             label_fields: Sequence[str] = (), compression: str = "none") -> dict:
        """Stores the activations of `hooks` (names or patterns such as 'blocks.*.hook_resid_post') for a whole
        corpus in an HDF5 file (docs/hdf5-layout.md); read it back with moulin.ActivationStore.open(out) or h5py.
        Same options as `moulin dump`. Returns a summary (tokens, documents, bytes, seconds, ...)."""
        existing = "resume" if resume else "overwrite" if overwrite else "refuse"
        return self._native.dump(str(out), str(corpus), list(hooks), _dtype_name(dtype), batch_size, context_length,
                                 overlap, positions, max_tokens, existing, corpus_format, text_field,
                                 list(label_fields), compression)

    def reset_hooks(self) -> None:
        """Removes every hook attached with `hooks(...)` (for use after an interrupted session)."""
        self._native.reset_hooks()
