"""The model as one SQL query: score rows where they already are, in any SQL engine.

    python -m housing sql --model artifacts/models/quantized.npz --dialect duckdb [--table houses]

The query returns every column of the table, then ``prediction`` (in $100,000) and
``outside_training_range``: true where a feature lies outside the training range, as
``predict --strict`` judges it. The sum runs in ``housing predict``'s order, the intercept
first and then each feature's product in the model's feature order, with each coefficient
a float64 literal (a string cast to the engine's double, never a DECIMAL), so an engine
that adds float64 left to right gives ``predict``'s answer bit for bit. A quantized model
is written with its dequantized coefficients. A NULL feature gives a NULL prediction.

Rendered with sqlglot, the ``sql`` extra (``pip install 'housing[sql]'``), so each
dialect quotes names and spells its double type its own way.
"""
from . import store
from .cli import Parser, UserError, bounded, command, write_out
from .config import QUANTIZED_MODEL

# --dialect's choices: sqlglot's names
DIALECTS = ("sqlite", "duckdb", "spark", "postgres", "bigquery", "snowflake", "trino", "mysql")
TABLE = "houses"


def sqlglot_expressions():
    """sqlglot's expression module; one line naming the extra when it is missing."""
    try:
        from sqlglot import expressions
    except ModuleNotFoundError:
        raise UserError("housing sql needs sqlglot: pip install 'housing[sql]'") from None
    return expressions


def double(exp, value):
    """``value`` as a float64 literal: its shortest decimal text, cast to a double."""
    return exp.Cast(this=exp.Literal.string(repr(float(value))),
                    to=exp.DataType.build("double"))


def column(exp, name):
    return exp.Column(this=exp.to_identifier(name, quoted=True))


def prediction(exp, model):
    """intercept + x_0 * c_0 + x_1 * c_1 + ..., left to right, as predict sums it."""
    total = double(exp, model.intercept)
    for name, c in zip(model.features, model.coef):
        total = exp.Add(this=total, expression=exp.Mul(this=column(exp, name),
                                                       expression=double(exp, c)))
    return total


def outside_training_range(exp, model):
    """x_0 < min_0 OR x_0 > max_0 OR ...: ``model.Ranges.outside`` in SQL, what predict
    --strict refuses."""
    condition = None
    for name, low, high in zip(model.features, model.ranges.min, model.ranges.max):
        for test in (exp.LT(this=column(exp, name), expression=double(exp, low)),
                     exp.GT(this=column(exp, name), expression=double(exp, high))):
            condition = test if condition is None else exp.Or(this=condition, expression=test)
    return exp.Paren(this=condition)


# a table's name: printable text, quoted in the query as an identifier
table_name = bounded(str, lambda t: 0 < len(t) <= 128 and t.isprintable(),
                     "a table's name, 1 to 128 printable characters")


def query(model, dialect, table=TABLE):
    """The query's text in ``dialect``, over ``table``."""
    exp = sqlglot_expressions()
    select = exp.select(
        exp.Star(),
        exp.alias_(prediction(exp, model), "prediction", quoted=True),
        exp.alias_(outside_training_range(exp, model), "outside_training_range", quoted=True),
    ).from_(exp.Table(this=exp.to_identifier(table, quoted=True)))
    return select.sql(dialect=dialect, pretty=True) + ";\n"


def parser():
    p = Parser(prog="housing sql", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=QUANTIZED_MODEL, help="a float or quantized model, .npz")
    p.add_argument("--dialect", choices=DIALECTS, required=True)
    p.add_argument("--table", default=TABLE, type=table_name,
                   help=f"the table of rows (default: {TABLE})")
    return p


@command("housing sql")
def main(argv=None) -> int:
    args = parser().parse_args(argv)
    model = store.load_model(args.model)
    write_out(query(model, args.dialect, args.table), "the query")
    return 0
