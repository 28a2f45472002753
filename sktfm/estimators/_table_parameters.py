"""The parameters of table input: which columns are categories or text, and how rare a
category may be (see :mod:`sktfm.tables`)."""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ..nn.table_embedding import NUMERIC_EMBEDDINGS
from ._signature import Parameter
from ._signature import options as _options

#: The input types that read the table parameters.
TABLE_INPUT = ("tabular",)

TABLES = {
    "numeric_embedding": Parameter(
        "auto",
        [StrOptions({"auto", *NUMERIC_EMBEDDINGS})],
        _options(("auto", *NUMERIC_EMBEDDINGS)),
        'How a numeric cell\'s value becomes its token. ``"linear"``: the value times a '
        "learned vector per column, plus the column's embedding (FT-Transformer). "
        '``"periodic"``: sines and cosines of the value at 16 learned frequencies per '
        "column, through a linear map and ReLU (PLR; Gorishniy et al., 2022), which can "
        'bend where a linear token cannot. ``"auto"``: periodic for columns with more '
        "than 20 distinct values at fit, linear for the others (counts, grades, pixel "
        "intensities). Measured on real tables (``benchmarks/RESULTS.md``): periodic "
        "raised the ROC AUC on five of six mixed tables and cut the house-price RMSE by "
        "8%, while on the 17-level pixels of the digits it lost 1 point of accuracy.",
        applies_to=TABLE_INPUT,
    ),
    "categorical_features": Parameter(
        "auto",
        ["array-like", StrOptions({"auto"}), None],
        'array-like of {bool, int, str}, "auto" or None',
        "Table columns whose values are categories, each with a learned embedding per "
        "category (a boolean mask, indices or column names, as "
        "``HistGradientBoostingClassifier`` takes them). Categories seen fewer than "
        "``min_frequency`` times at fit, and any first met at predict, share the column's "
        "*unseen* token; a missing cell gets the column's *missing* token. "
        '``"auto"``: columns of ``category``, ``bool``, ``object`` or ``string`` dtype '
        "that are not free text (see ``text_features``); None: no column is "
        "categorical. The resolved types are ``feature_types_``.",
        applies_to=TABLE_INPUT,
    ),
    "text_features": Parameter(
        "auto",
        ["array-like", StrOptions({"auto"}), None],
        'array-like of {bool, int, str}, "auto" or None',
        "Table columns of free text: tokenized with the estimator's ``tokenizer`` (one "
        "vocabulary for all of them) and read word by word, each word a token with its "
        'column\'s embedding. ``"auto"``: string columns whose values have at least 3 words '
        "on average and of which at least 30% are distinct (a description, a title, a "
        "comment; a city or a grade stays categorical); None: no column is text.",
        applies_to=TABLE_INPUT,
    ),
    "min_frequency": Parameter(
        5,
        [Interval(Integral, 1, None, closed="left"), Interval(Real, 0, 1, closed="neither")],
        "int or float",
        "Categories seen fewer times at fit (a float: in a smaller share of the rows) "
        "get no embedding of their own but the column's *unseen* token, as "
        "``OneHotEncoder(min_frequency=...)`` groups them: an embedding learned from a "
        "handful of rows overfits.",
        applies_to=TABLE_INPUT,
    ),
}
