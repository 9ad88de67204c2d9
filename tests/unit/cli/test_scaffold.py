"""Names and templates of `strategy new` and `init`."""

from __future__ import annotations

import ast

import pytest

from mismarterad.cli.scaffold import render, strategy_names


@pytest.mark.parametrize(("name", "class_name", "stem"), [
    ("buy-the-dip", "BuyTheDip", "buy_the_dip"),
    ("buy_the_dip", "BuyTheDip", "buy_the_dip"),
    ("BuyTheDip", "BuyTheDip", "buy_the_dip"),
    ("MyRSI-idea", "MyRSIIdea", "my_rsi_idea"),
    ("orb2", "Orb2", "orb2"),
    ("a--b__c", "ABC", "a_b_c"),
])
def test_a_name_gives_a_class_and_a_file(name: str, class_name: str, stem: str) -> None:
    assert strategy_names(name) == (class_name, stem)
    assert class_name.isidentifier() and f"{stem}.py"


@pytest.mark.parametrize("name", ["", "9lives", "-x", "a b", "a.b", "über", "x" * 65, "none", "strategy", "bar"])
def test_a_bad_name_is_refused_saying_what_is_accepted(name: str) -> None:
    with pytest.raises(ValueError, match=f"invalid strategy name {name!r}"):
        strategy_names(name)


def test_the_strategy_template_is_python_defining_the_named_class() -> None:
    tree = ast.parse(render("strategy.py.tmpl", class_name="BuyTheDip", file_path="buy_the_dip.py"))
    assert [n.name for n in tree.body if isinstance(n, ast.ClassDef)] == ["BuyTheDip"]
