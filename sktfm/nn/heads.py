"""Trainable models built on a :class:`TransformerBackbone`: supervised and self-supervised.

Each model owns its backbone as ``self.backbone``; ``embed(x)`` returns the
backbone's pooled (B, C) embedding, which is what ``transform`` serves once the
head is dropped.
"""

import torch
from torch import Tensor, nn

from ._checks import check_positive
from .backbone import TransformerBackbone

__all__ = ["TaskModel", "MaskedTokenModel", "MaskedFeatureModel"]


def _check_prob(mask_prob: float) -> None:
    if not 0.0 < mask_prob <= 1.0:
        raise ValueError(f"{mask_prob=} must be in (0, 1].")


class TaskModel(nn.Module):
    """Classification / regression head on the pooled embedding.

    ``LayerNorm(C) -> Linear(C, n_outputs)`` on ``backbone(x)``; the loss (cross
    entropy, MSE) lives with the training code.

    Parameters
    ----------
    backbone : TransformerBackbone
        Produces the pooled (B, C) embedding.
    n_outputs : int
        Number of logits (classes) or regression targets.

    Examples
    --------
    >>> bb = TransformerBackbone(input_kind="features", n_features=3, d_model=8, n_heads=2,
    ...                          n_layers=1, dim_feedforward=16)
    >>> TaskModel(bb, n_outputs=4)(torch.randn(5, 3)).shape  # (B, n_outputs)
    torch.Size([5, 4])
    """

    def __init__(self, backbone: TransformerBackbone, n_outputs: int):
        super().__init__()
        check_positive(n_outputs=n_outputs)
        self.backbone = backbone
        d_model = backbone.d_model
        self.head = nn.Sequential(nn.LayerNorm(d_model), nn.Linear(d_model, n_outputs))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.backbone(x))  # (B, n_outputs)

    def embed(self, x: Tensor) -> Tensor:
        return self.backbone(x)  # (B, C)


class MaskedTokenModel(nn.Module):
    """BERT masked-token modelling (Devlin et al., 2019, section 3.1, task 1).

    Each non-special token is selected with probability ``mask_prob``; a
    selected token becomes ``mask_id`` (80%), a random non-special id (10%) or
    stays unchanged (10%), and the model predicts the original id. Selection
    uses torch's global RNG, so ``torch.manual_seed`` makes it repeatable.

    Parameters
    ----------
    backbone : TransformerBackbone
        A backbone with ``input_kind="tokens"``.
    vocab_size : int
        Number of ids the head scores.
    mask_id : int
        The [MASK] id.
    n_special : int
        Ids ``0 .. n_special - 1`` are special (padding, [UNK], [MASK], ...):
        never selected, never used as random replacements.
    mask_prob : float, default=0.15
        Selection probability.

    Examples
    --------
    >>> bb = TransformerBackbone(input_kind="tokens", vocab_size=20, d_model=8, n_heads=2,
    ...                          n_layers=1, dim_feedforward=16)
    >>> mlm = MaskedTokenModel(bb, vocab_size=20, mask_id=2, n_special=4)
    >>> logits, targets = mlm(torch.randint(4, 20, (3, 6)))  # (B, T) ids
    >>> logits.shape[1], logits.shape[0] == targets.shape[0]  # (N, vocab_size), (N,)
    (20, True)
    """

    def __init__(
        self,
        backbone: TransformerBackbone,
        *,
        vocab_size: int,
        mask_id: int,
        n_special: int,
        mask_prob: float = 0.15,
    ):
        super().__init__()
        if backbone.input_kind != "tokens":
            raise ValueError(
                f"MaskedTokenModel needs input_kind='tokens', got {backbone.input_kind=}."
            )
        if not 0 <= n_special < vocab_size:
            raise ValueError(
                f"{n_special=} must be in [0, {vocab_size=}) so some ids are maskable."
            )
        if not 0 <= mask_id < vocab_size:
            raise ValueError(f"{mask_id=} must be a valid id in [0, {vocab_size=}).")
        _check_prob(mask_prob)
        self.backbone = backbone
        self.vocab_size = vocab_size
        self.mask_id = mask_id
        self.n_special = n_special
        self.mask_prob = mask_prob
        d_model = backbone.d_model
        self.head = nn.Sequential(
            nn.Linear(d_model, d_model),
            nn.GELU(),
            nn.LayerNorm(d_model),
            nn.Linear(d_model, vocab_size),
        )

    def _select(self, ids: Tensor) -> Tensor:
        """Bool (B, T): the positions to predict."""
        candidates = ids >= self.n_special
        selected = candidates & (torch.rand(ids.shape, device=ids.device) < self.mask_prob)
        if not selected.any() and candidates.any():
            # Guarantee a non-empty loss on short batches.
            flat = candidates.flatten().nonzero().squeeze(1)
            pick = flat[torch.randint(len(flat), (1,), device=ids.device)]
            selected = selected.flatten().index_fill(0, pick, True).view_as(ids)
        return selected

    def _corrupt(self, ids: Tensor, selected: Tensor) -> Tensor:
        """Apply BERT's 80/10/10 replacement to the selected positions."""
        u = torch.rand(ids.shape, device=ids.device)
        random_ids = torch.randint(self.n_special, self.vocab_size, ids.shape, device=ids.device)
        corrupted = torch.where(selected & (u < 0.8), torch.full_like(ids, self.mask_id), ids)
        return torch.where(selected & (u >= 0.8) & (u < 0.9), random_ids, corrupted)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Corrupt ``x`` (B, T) and return ``(logits (N, vocab_size), targets (N,))``."""
        selected = self._select(x)  # (B, T)
        states, _ = self.backbone.encode(self._corrupt(x, selected))  # (B, T + 1, C)
        # Drop the [CLS] a backbone prepends so that positions line up with x.
        token_states = states[:, 1:] if backbone_prepends_cls(self.backbone) else states
        return self.head(token_states[selected]), x[selected]  # (N, V), (N,)

    def embed(self, x: Tensor) -> Tensor:
        return self.backbone(x)  # (B, C)


def backbone_prepends_cls(backbone) -> bool:
    """Whether ``backbone.encode`` returns one more position than its input."""
    return getattr(backbone, "prepends_cls", True)


def _hide_mask(shape: tuple[int, int], mask_prob: float, device: torch.device) -> Tensor:
    """Bool (B, n): hide each slot with ``mask_prob``, at least 1 and at most n - 1 per row."""
    B, n = shape
    if n <= 1:
        return torch.ones(B, n, dtype=torch.bool, device=device)
    hide = torch.rand(B, n, device=device) < mask_prob  # (B, n)
    one = torch.zeros(B, n, dtype=torch.bool, device=device)
    one.scatter_(1, torch.randint(n, (B, 1), device=device), True)  # one random slot per row
    # Nothing hidden -> hide that slot; everything hidden -> reveal it
    # (the model needs something to reconstruct and something to see).
    hide = torch.where(~hide.any(dim=1, keepdim=True), one, hide)
    return torch.where(hide.all(dim=1, keepdim=True), hide & ~one, hide)


class MaskedFeatureModel(nn.Module):
    """Masked-value reconstruction for tabular rows and numeric sequences.

    For ``input_kind="features"`` each feature of a row is hidden with
    probability ``mask_prob`` (at least one, at most ``F - 1`` per row; the only
    one when ``F == 1``) and ``Linear(C, 1)`` predicts its value from the hidden
    token's state. For ``input_kind="sequence"`` patches are hidden the same
    way (never padding) and ``Linear(C, patch_size * F)`` predicts the patch's
    values (masked-patch pretraining, as PatchTST's self-supervised variant). A masked
    auto-encoding objective in the spirit of BERT, as used for tabular
    pretraining (e.g. Rubachev et al., 2022).

    Parameters
    ----------
    backbone : TransformerBackbone
        A backbone with ``input_kind`` ``"features"`` or ``"sequence"``.
    mask_prob : float, default=0.15
        Probability to hide each feature / step.

    Examples
    --------
    >>> bb = TransformerBackbone(input_kind="features", n_features=4, d_model=8, n_heads=2,
    ...                          n_layers=1, dim_feedforward=16)
    >>> pred, target = MaskedFeatureModel(bb)(torch.randn(3, 4))  # (N,), (N,)
    >>> pred.shape == target.shape
    True
    """

    def __init__(self, backbone: TransformerBackbone, *, mask_prob: float = 0.15):
        super().__init__()
        if backbone.input_kind not in ("features", "sequence"):
            raise ValueError(
                f"MaskedFeatureModel needs input_kind 'features' or 'sequence', got "
                f"{backbone.input_kind=}; use MaskedTokenModel for tokens."
            )
        _check_prob(mask_prob)
        self.backbone = backbone
        self.mask_prob = mask_prob
        if backbone.input_kind == "features":
            n_out = 1
        else:
            n_out = backbone.embedding.patch_size * backbone.n_features
        self.head = nn.Linear(backbone.d_model, n_out)
        self.mixed = backbone.input_kind == "features" and any(
            backbone.embedding.cardinalities + backbone.embedding.text_widths
        )
        if self.mixed:
            embedding = backbone.embedding
            sizes = torch.tensor(embedding.cardinalities)
            # Column f's categories are logits offset[f] .. offset[f] + sizes[f] - 1
            # of one shared output layer; the others are ruled out per cell.
            columns = [f for f, size in enumerate(embedding.cardinalities) for _ in range(size)]
            self.register_buffer("category_column", torch.tensor(columns), persistent=False)
            self.register_buffer("category_offset", torch.cumsum(sizes, 0) - sizes, False)
            self.register_buffer("categorical", sizes > 0, persistent=False)
            self.register_buffer(
                "maskable", torch.tensor(embedding.text_widths) == 0, persistent=False
            )
            self.category_head = nn.Linear(backbone.d_model, max(sum(embedding.cardinalities), 1))

    def _hide_cells(self, x: Tensor) -> Tensor:
        """Bool (B, F): observed numeric and categorical cells to hide (never text columns)."""
        cells = x[:, : self.backbone.n_features]
        hide = _hide_mask(tuple(cells.shape), self.mask_prob, x.device) & ~torch.isnan(cells)
        return hide & self.maskable if self.mixed else hide

    def _category_logits(self, states: Tensor, columns: Tensor) -> Tensor:
        """Logits (N, K) of the states of cells of ``columns`` (N,), other columns' at -inf."""
        logits = self.category_head(states)
        allowed = self.category_column == columns[:, None]  # (N, K)
        return logits.masked_fill(~allowed, float("-inf"))

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        """Hide part of ``x``; return ``(pred, target)``: (N,) rows, (N, P * F) sequences.

        A table with categorical or text columns returns ``(pred, target,
        category_logits, category_target)``: the hidden numeric cells' values
        and the hidden categorical cells' logits (N_c, K) and codes (N_c,),
        codes counted over all columns' categories.
        """
        ndim = 2 if self.backbone.input_kind == "features" else 3
        if x.ndim != ndim:
            raise ValueError(
                f"input_kind={self.backbone.input_kind!r} expects a {ndim}-D x, "
                f"got {tuple(x.shape)}."
            )
        if self.backbone.input_kind == "features":
            # Only observed cells are hidden and reconstructed: a missing one
            # (NaN) has no value to learn from.
            hide = self._hide_cells(x)
            states, _ = self.backbone.encode(x, mask=hide)  # (B, F + 1 [+ W], C)
            cell_states = states[:, 1 : self.backbone.n_features + 1]  # skip [CLS]: (B, F, C)
            cells = x[:, : self.backbone.n_features]
            if not self.mixed:
                pred = self.head(cell_states[hide]).squeeze(-1)  # (N,)
                return pred, cells[hide].to(pred.dtype)
            numeric = hide & ~self.categorical
            pred = self.head(cell_states[numeric]).squeeze(-1)  # (N,)
            categorical = hide & self.categorical
            columns = categorical.nonzero()[:, 1]  # (N_c,)
            logits = self._category_logits(cell_states[categorical], columns)
            codes = cells[categorical].long() + self.category_offset[columns]
            return pred, cells[numeric].to(pred.dtype), logits, codes
        patches, padding = self.backbone.embedding.patchify(x)  # (B, P, L), (B, P)
        hide = _hide_mask(tuple(padding.shape), self.mask_prob, x.device) & ~padding
        # A short series may lose all its hidden patches to padding: hide its
        # first patch, which is never padding.
        hide[:, 0] |= ~hide.any(dim=1)
        states, _ = self.backbone.encode(x, mask=hide)  # (B, P + 1, C)
        pred = self.head(states[:, 1:][hide])  # skip [CLS]: (N, L)
        return pred, patches[hide].to(pred.dtype)

    @torch.no_grad()
    def reconstruct(self, x: Tensor, hide: Tensor) -> tuple[Tensor, Tensor]:
        """Predict the cells ``hide`` (B, F) of table rows ``x``: values and codes (B, F).

        Values are the numeric head's predictions for every cell (NaN where
        not hidden); codes the most probable category of each categorical
        cell, the unseen code 0 left out (-1 where not hidden or not
        categorical). This is how a model trained on masked cells fills a
        table's gaps.
        """
        if self.backbone.input_kind != "features":
            raise ValueError("reconstruct fills table cells; input_kind must be 'features'.")
        states, _ = self.backbone.encode(x, mask=hide)
        cell_states = states[:, 1 : self.backbone.n_features + 1]  # (B, F, C)
        values = self.head(cell_states).squeeze(-1).float()  # (B, F)
        values = values.masked_fill(~hide, float("nan"))
        codes = torch.full_like(hide, -1, dtype=torch.long)
        if self.mixed and bool(self.categorical.any()):
            B, F = hide.shape
            columns = torch.arange(F, device=x.device).expand(B, F)
            chosen = hide & self.categorical
            logits = self._category_logits(cell_states[chosen], columns[chosen])
            unseen = self.category_offset[columns[chosen]]  # each cell's code 0
            logits[torch.arange(len(unseen)), unseen] = float("-inf")
            best = logits.argmax(dim=1) - unseen
            # A column with no category but "unseen" keeps code 0.
            codes[chosen] = torch.where(torch.isinf(logits.max(dim=1).values), 0, best)
        return values, codes

    def embed(self, x: Tensor) -> Tensor:
        return self.backbone(x)  # (B, C)
