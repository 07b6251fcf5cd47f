"""Figure functions, one module per group: each takes results or a sweep and returns ``(fig, axes)``.

:mod:`.curse` (Shumailov et al.), :mod:`.cot` (Kazdan et al.'s workflows), :mod:`.fresh` (fresh
data, collapse probabilities), :mod:`.diagnostics` (decomposition, verifier).
"""
