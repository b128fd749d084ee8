"""Type stubs of the C++ extension module (python/src). Use the `moulin` package, which wraps these."""
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch

class HookPoint:
    """The hook point a hook function is called at."""
    name: str
    layer: int
    past_length: int

class Tokenizer:
    @staticmethod
    def from_pretrained(path: str) -> "Tokenizer": ...
    def encode(self, text: str, add_special_tokens: bool = True, allow_special: bool = True) -> List[int]: ...
    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str: ...
    def token_to_id(self, token: str) -> Optional[int]: ...
    def id_to_token(self, id: int) -> Optional[str]: ...
    @property
    def vocab_size(self) -> int: ...
    @property
    def bos_id(self) -> Optional[int]: ...
    @property
    def eos_ids(self) -> List[int]: ...
    @property
    def chat_template(self) -> Optional[str]: ...
    def apply_chat_template(self, messages: Sequence[Tuple[str, str]], add_generation_prompt: bool = True,
                            format: Optional[str] = None) -> str: ...

_Hooks = Sequence[Tuple[Sequence[str], Callable[[torch.Tensor, HookPoint], Optional[torch.Tensor]]]]

class _Model:
    @staticmethod
    def from_pretrained(path: str, dtype: str = "float32", device: str = "cpu",
                        tokenizer: Optional[str] = None) -> "_Model": ...
    config: dict
    dtype: str
    device: str
    tokenizer: Optional[Tokenizer]
    n_layers: int
    def hook_names(self) -> List[str]: ...
    def act_name(self, name: str, layer: int = 0) -> str: ...
    def forward(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None,
                position_ids: Optional[torch.Tensor] = None, hooks: _Hooks = ..., logits: str = "all",
                stop_at_layer: Optional[int] = None) -> Optional[torch.Tensor]: ...
    def forward_residual(self, residual: torch.Tensor, start_at_layer: int,
                         attention_mask: Optional[torch.Tensor] = None, hooks: _Hooks = ..., logits: str = "all",
                         stop_at_layer: Optional[int] = None) -> Optional[torch.Tensor]: ...
    def run_with_cache(self, input_ids: torch.Tensor, names: Optional[Sequence[str]] = None,
                       positions: Optional[Tuple[int, int]] = None, cache_dtype: Optional[str] = None,
                       cache_device: Optional[str] = None, attention_mask: Optional[torch.Tensor] = None,
                       position_ids: Optional[torch.Tensor] = None, hooks: _Hooks = ...,
                       logits: str = "all") -> Tuple[Optional[torch.Tensor], Dict[str, torch.Tensor]]: ...
    def embed(self, ids: torch.Tensor) -> torch.Tensor: ...
    def generate(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None,
                 max_new_tokens: int = 32, do_sample: bool = False, temperature: float = 1.0, top_k: int = 0,
                 top_p: float = 1.0, repetition_penalty: float = 1.0, seed: int = 0, stop: Sequence[str] = ...,
                 eos_ids: Sequence[int] = ..., pad_id: Optional[int] = None, hooks: _Hooks = ...,
                 on_token: Optional[Callable[[int, int], Optional[bool]]] = None) -> Tuple[torch.Tensor, List[str]]: ...
    def add_hook(self, names: Sequence[str], function: Callable) -> int: ...
    def remove_hook(self, handle: int) -> None: ...
    def reset_hooks(self) -> None: ...

# -- model organisms ----------------------------------------------------------------------------------------
def organism_spec(small: bool = False, clean: bool = False) -> dict: ...
def build_organism(spec: Optional[dict] = None, out: Optional[str] = None, small: bool = False, clean: bool = False,
                   overwrite: bool = False, verbose: bool = False) -> dict: ...
def evaluate_organism(organism: str, prompts: int = 100, max_new_tokens: int = 48) -> dict: ...

# -- language identification (CLD2) ------------------------------------------------------------------------
def detect_language(text: str) -> dict: ...
def switch_rate(languages: Sequence[str], target: str) -> dict: ...

# -- trigger studies (dicts with the fields of the commands' JSON files; maps as tensors) -------------------
def scan(model: str, candidates: Sequence[str] = ..., candidate_file: Optional[str] = None,
         generate: Union[None, str, Sequence[str]] = None, count: int = 1000, seed: int = 0,
         prompts: Sequence[str] = ..., prompt_count: int = 20, verify_prompts: int = 20, placement: str = "suffix",
         batch: int = 64, top: int = 20, max_new_tokens: int = 32, reuse_prefix: bool = True,
         dtype: str = "float32", device: str = "cpu", source_language: str = "en",
         languages: Sequence[str] = ("en", "fr", "de"), token_table: Optional[str] = None,
         out: Optional[str] = None) -> dict: ...
def invert(model: str, target: str = "fr", length: int = 8, steps: Optional[int] = None, top_k: int = 64,
           candidates: int = 128, restarts: int = 1, patience: Optional[int] = None,
           max_target_probability: float = 0.5, search_prompts: int = 16, validation_prompts: int = 60, seed: int = 0,
           source_language: str = "en", languages: Sequence[str] = ("en", "fr", "de"),
           token_table: Optional[str] = None, dtype: str = "bfloat16", device: str = "cpu", out: Optional[str] = None,
           on_stage: Optional[Callable[[str], None]] = None, on_step: Optional[Callable[[dict], None]] = None) -> dict: ...
def target_first_scan(model: str, length: int = 8, steps: Optional[int] = None, top_k: int = 64, candidates: int = 128,
                      restarts: int = 1, patience: Optional[int] = None, max_target_probability: float = 0.5,
                      search_prompts: int = 16, validation_prompts: int = 40, random_baselines: int = 4,
                      min_switch_rate: float = 0.75, seed: int = 0, source_language: str = "en",
                      languages: Sequence[str] = ("en", "fr", "de"), token_table: Optional[str] = None,
                      dtype: str = "bfloat16", device: str = "cpu", out: Optional[str] = None,
                      on_stage: Optional[Callable[[str], None]] = None,
                      on_step: Optional[Callable[[dict], None]] = None) -> dict: ...
def patch(model: str, trigger: str, target: str = "fr", prompts: Union[int, Sequence[str]] = 20,
          placement: str = "suffix", contrast: str = "random", contrast_phrase: str = "", seed: int = 0,
          heads: bool = True, components: bool = True, threshold: float = 0.5, batch_size: int = 16,
          out: Optional[str] = None, dtype: str = "float32", device: str = "cpu",
          languages: Sequence[str] = ("en", "fr", "de"), source: str = "en", token_table: Optional[str] = None) -> dict: ...
def mitigate(model: str, trigger: str, target: str = "fr", fitting: int = 40, held_out: int = 60, clean_texts: int = 40,
             layers: Sequence[int] = ..., method: str = "project", strength: float = 1.0, sweep_layers: Sequence[int] = ...,
             sweep_strengths: Sequence[float] = (0.5, 1.0, 2.0), max_new_tokens: int = 32, placement: str = "suffix",
             contrast: str = "clean", contrast_phrase: str = "", seed: int = 0, batch_size: int = 16,
             out: Optional[str] = None, dtype: str = "float32", device: str = "cpu",
             languages: Sequence[str] = ("en", "fr", "de"), source: str = "en", token_table: Optional[str] = None) -> dict: ...
def probe(model: Optional[str] = None, trigger: Optional[str] = None, target: str = "fr", store: Optional[str] = None,
          label: str = "triggered", prompts: Union[int, Sequence[str]] = 100,
          hooks: Sequence[str] = ("blocks.*.hook_resid_post",), placement: str = "inside", contrast: str = "random",
          contrast_phrase: str = "", seed: int = 0, held_out_fraction: float = 0.25, poison_fraction: float = 0.1,
          batch_size: int = 16, out: Optional[str] = None, dtype: str = "float32", device: str = "cpu",
          languages: Sequence[str] = ("en", "fr", "de"), source: str = "en", token_table: Optional[str] = None) -> dict: ...
def hunt(model: str, candidates: Sequence[str] = ..., generated: int = 500, budgeted: bool = False, seed: int = 0,
         source_language: str = "en", languages: Sequence[str] = ("en", "fr", "de"), token_table: Optional[str] = None,
         dtype: str = "bfloat16", device: str = "cpu", out: Optional[str] = None,
         on_stage: Optional[Callable[[str], None]] = None) -> dict: ...
