"""DataFrames with free-text columns beside numbers and categories: one model over both."""

import pickle

import numpy as np
import pandas as pd
import pytest

from sktransformer import AttentionAutoencoder, TransformerClassifier, TransformerRegressor
from sktransformer.inspection import anomaly_contributions, attention_weights

from conftest import TINY

WORDS = ["great", "poor", "battery", "screen", "fast", "slow", "cheap", "sturdy", "light", "loud"]


def reviews(n=120, seed=0):
    """A mixed frame: a free-text review, a short title, an age, a colour category; y depends on
    the review's sentiment word and the colour together (the colour flips what the word means)."""
    rng = np.random.RandomState(seed)
    good = rng.randint(0, 2, n)
    colour = rng.choice(["red", "blue"], n)
    review = [" ".join(list(rng.choice(WORDS[2:], 4)) + ["great" if g else "poor"] + list(rng.choice(WORDS[2:], 3)))
              for g in good]
    title = [" ".join(rng.choice(WORDS, 3)) for _ in range(n)]
    frame = pd.DataFrame({"title": title, "age": rng.normal(40, 10, n), "review": review, "colour": colour})
    y = np.where(colour == "red", good, 1 - good)
    return frame, y


def test_text_and_category_columns_are_told_apart_and_stated():
    X, y = reviews()
    clf = TransformerClassifier(**TINY, max_epochs=1).fit(X, y)
    assert clf.input_mode_ == "mixed"
    assert clf.text_columns_ == ["title", "review"]
    assert clf.categorical_columns_ == ["colour"]
    assert clf.encoder_.feature_names_ == ["age", "colour"]
    assert clf.predict(X).shape == (len(X),)


def test_the_user_says_which_columns_are_text_and_which_are_categories():
    X, y = reviews()
    X["store"] = np.arange(len(X)) % 3  # numeric codes
    clf = TransformerClassifier(**TINY, max_epochs=1, text_columns=["review"],
                                categorical_columns=["title", "colour", "store"]).fit(X, y)
    assert clf.text_columns_ == ["review"]
    assert clf.categorical_columns_ == ["title", "colour", "store"]
    assert clf.encoder_.table_.categorical_columns_ == ["title", "colour", "store"]
    assert clf.encoder_.cat_cardinalities_[2] == 4  # three store codes + unknown
    table = TransformerClassifier(**TINY, max_epochs=1, text_columns=None).fit(X, y)
    assert table.input_mode_ == "tabular" and table.text_columns_ == []
    assert table.categorical_columns_ == ["title", "review", "colour"]
    # a text column named by the user is text even when "auto" would not read it so
    forced = TransformerClassifier(**TINY, max_epochs=1, text_columns=["colour"]).fit(X, y)
    assert forced.text_columns_ == ["colour"] and "review" in forced.categorical_columns_


def test_text_columns_that_are_really_categories_stay_categories():
    rng = np.random.RandomState(0)
    n = 200
    X = pd.DataFrame({"plan": rng.choice(["basic monthly plan", "premium yearly plan", "family plan"], n),
                      "region": rng.choice(["North East", "South West"], n), "x": rng.normal(size=n)})
    clf = TransformerClassifier(**TINY, max_epochs=1).fit(X, np.arange(n) % 2)
    assert clf.input_mode_ == "tabular"
    assert clf.text_columns_ == [] and clf.categorical_columns_ == ["plan", "region"]


@pytest.mark.parametrize("change, error, match", [
    (lambda X: X.assign(review=[3] + X["review"].tolist()[1:]), TypeError, r"Column 'review'.*row 0.*int"),
])
def test_a_text_column_with_a_non_str_value_is_named(change, error, match):
    X, y = reviews(40)
    with pytest.raises(error, match=match):
        TransformerClassifier(**TINY, max_epochs=1).fit(change(X), y)
    with pytest.raises(error, match=match):
        TransformerClassifier(**TINY, max_epochs=1, text_columns=["review"]).fit(change(X), y)
    clf = TransformerClassifier(**TINY, max_epochs=1).fit(X, y)
    with pytest.raises(error, match=match):
        clf.predict(change(X))


@pytest.mark.parametrize("params, error, match", [
    ({"text_columns": ["review"], "categorical_columns": ["review"]}, ValueError, r"\['review'\] are in both"),
    ({"text_columns": ["nope"]}, ValueError, r"text_columns names columns \['nope'\] that X does not have"),
    ({"categorical_columns": ["nope"]}, ValueError, r"categorical_columns names columns \['nope'\]"),
    ({"text_columns": ["age"]}, TypeError, r"Column 'age' is in text_columns but holds numbers"),
    ({"text_columns": 3}, ValueError, r"text_columns"),
])
def test_bad_column_roles_are_named_before_training(params, error, match):
    X, y = reviews(40)
    with pytest.raises(error, match=match):
        TransformerClassifier(**TINY, max_epochs=1, **params).fit(X, y)


def test_column_roles_need_a_dataframe():
    with pytest.raises(ValueError, match="text_columns and categorical_columns name columns of a DataFrame"):
        TransformerClassifier(**TINY, max_epochs=1, text_columns=["a"]).fit(np.ones((4, 2)), [0, 1, 0, 1])


def test_missing_text_is_an_empty_field():
    X, y = reviews(60)
    X.loc[0, "review"] = np.nan
    X.loc[1, "review"] = None
    X.loc[2, "title"] = ""
    X.loc[3, ["title", "review"]] = None
    clf = TransformerClassifier(**TINY, max_epochs=1).fit(X, y)
    inputs = clf.encoder_.transform(X.iloc[:4])
    # a missing text keeps its column's marker token and nothing else
    assert (inputs["attention_mask"][3].sum(), inputs["field_ids"][3, :2].tolist()) == (2, [0, 1])
    assert clf.encoder_.tokens(X.iloc[[3]]) == [["[title]", "[review]"]]
    assert np.isfinite(clf.predict_proba(X.iloc[:4])).all()


def test_one_model_reads_the_text_and_the_other_columns_together():
    """The colour flips what the review's word means: neither the text nor the colour alone says
    anything about y; only attention between the two can learn it."""
    X, y = reviews(600)
    clf = TransformerClassifier(**dict(TINY, d_model=32, dim_feedforward=64, n_layers=2, max_epochs=40))
    clf.fit(X.iloc[:400], y[:400])
    assert clf.score(X.iloc[400:], y[400:]) > 0.9


def test_one_text_column_only_and_several_text_columns():
    X, y = reviews(60)
    alone = TransformerClassifier(**TINY, max_epochs=1).fit(X[["review"]], y)
    assert alone.input_mode_ == "mixed" and alone.encoder_.n_features_ == 0
    assert alone.predict(X[["review"]]).shape == (60,)
    X["note"] = [f"{w} item number {i}" for i, w in enumerate(np.resize(WORDS, 60))]
    several = TransformerClassifier(**TINY, max_epochs=1).fit(X, y)
    assert several.text_columns_ == ["title", "review", "note"]
    assert set(np.unique(several.encoder_.transform(X)["field_ids"])) == {0, 1, 2}


def test_attention_weights_label_text_tokens_and_feature_tokens():
    X, y = reviews(40)
    clf = TransformerClassifier(**TINY, max_epochs=1, pooling="cls").fit(X, y)
    att = attention_weights(clf, X.iloc[:2])
    tokens = att.tokens[0]
    assert tokens[:3] == ["[CLS]", "age", "colour"]
    assert tokens[3] == "[title]" and "[review]" in tokens
    assert len(tokens) == att.mask[0].sum()
    columns = att.token_columns[0]
    assert columns[:3] == [[], ["age"], ["colour"]]
    assert columns[tokens.index("[review]")] == ["review"] and columns[4] == ["title"]
    assert np.allclose(att.weights[0, 0, 0, : len(tokens)].sum(-1), 1, atol=1e-5)


def test_predict_checks_the_columns_of_fit():
    X, y = reviews(40)
    clf = TransformerClassifier(**TINY, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="review"):
        clf.predict(X.drop(columns="review"))
    with pytest.raises(ValueError, match="fitted on mixed input"):
        clf.predict(X["review"].tolist())


def test_same_seed_same_model_and_pickle_round_trip():
    X, y = reviews(60)
    a = TransformerClassifier(**TINY, max_epochs=2).fit(X, y)
    b = TransformerClassifier(**TINY, max_epochs=2).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_allclose(c.predict_proba(X), a.predict_proba(X), rtol=1e-6)


def test_the_regressor_reads_mixed_frames():
    X, _ = reviews(200)
    target = 2.0 * X["review"].str.contains("great") + 0.05 * (X["age"].to_numpy() - 40)
    reg = TransformerRegressor(**dict(TINY, d_model=32), max_epochs=20).fit(X, target)
    assert reg.input_mode_ == "mixed"
    assert reg.score(X, target) > 0.5


def test_the_autoencoder_scores_mixed_rows_item_by_item():
    X, _ = reviews(120)
    ae = AttentionAutoencoder(**dict(TINY, max_epochs=3)).fit(X)
    assert ae.input_mode_ == "mixed"
    n_cols = 2  # age, colour; then the text tokens
    errors = ae.reconstruction_errors(X.iloc[:5])
    assert errors.shape[1] == n_cols + ae.encoder_.transform(X.iloc[:5])["input_ids"].shape[1]
    assert ae.error_scale_.shape == (n_cols + 1,)
    contributions, names = anomaly_contributions(ae, X.iloc[:3])
    assert names[:3].tolist() == ["age", "colour", "token_0"]
    np.testing.assert_allclose(np.nansum(contributions, axis=1), -ae.score_samples(X.iloc[:3]), rtol=1e-5)
    rebuilt = ae.reconstruct(X.iloc[:3])
    assert list(rebuilt.columns) == list(X.columns) and rebuilt.index.equals(X.index[:3])
    assert isinstance(rebuilt["review"].iloc[0], list) and rebuilt["colour"].iloc[0] in ("red", "blue")
    assert set(np.unique(ae.predict(X))) <= {-1, 1}
    assert ae.transform(X.iloc[:4]).shape == (4, TINY["d_model"])


def test_the_autoencoder_flags_a_row_whose_text_contradicts_its_category():
    rng = np.random.RandomState(0)
    n = 300
    colour = rng.choice(["red", "blue"], n)
    text = [f"a {c} shirt in {c} cotton" for c in colour]
    X = pd.DataFrame({"colour": colour, "description": text, "size": rng.normal(size=n)})
    X["description"] = X["description"] + pd.Series([f" model {i}" for i in range(n)])  # distinct texts
    ae = AttentionAutoencoder(**dict(TINY, d_model=32, max_epochs=30)).fit(X)
    assert ae.text_columns_ == ["description"]
    odd = X.iloc[:1].copy()
    odd["colour"] = "blue" if odd["colour"].iloc[0] == "red" else "red"
    assert ae.score_samples(odd)[0] < np.percentile(ae.score_samples(X), 5)


def test_a_pretrained_backbone_reads_the_text_columns(tiny_bert):
    X, y = reviews(60)
    clf = TransformerClassifier(**TINY, backbone=tiny_bert, max_epochs=1).fit(X, y)
    from sktransformer.encoding import PretrainedTextEncoder
    from sktransformer.nn.backbones import BackboneTokens

    assert isinstance(clf.encoder_.text_encoder, PretrainedTextEncoder)
    assert clf.encoder_.max_length == 32  # the backbone's 64 positions shared by two text columns
    assert isinstance(clf.net_.module_.embedding.text, BackboneTokens)
    groups = clf.net_.optimizer_.param_groups
    assert [g["lr"] for g in groups][:2] == [clf.lr / 20, clf.lr]  # the backbone learns at lr / 20
    assert clf.predict_proba(X).shape == (60, 2)
    att = attention_weights(clf, X.iloc[:1])
    assert att.tokens[0][:3] == ["age", "colour", "[CLS]"]
    with pytest.raises(ValueError, match=r"reads at most 64 tokens in all \(2 text columns of 40"):
        TransformerClassifier(**TINY, backbone=tiny_bert, max_length=40, max_epochs=1).fit(X, y)
    frozen = TransformerClassifier(**TINY, backbone=tiny_bert, freeze_backbone="all", max_epochs=1).fit(X, y)
    assert not any(p.requires_grad for p in frozen.net_.module_.embedding.text.backbone.parameters())


def test_a_model_fitted_on_an_array_predicts_a_dataframe_of_numbers():
    X = np.random.RandomState(0).normal(size=(40, 2))
    clf = TransformerClassifier(**TINY, max_epochs=1).fit(X, np.arange(40) % 2)
    assert clf.text_columns_ == [] and clf.categorical_columns_ == []
    np.testing.assert_array_equal(clf.predict(pd.DataFrame(X)), clf.predict(X))


def test_the_default_backbone_reads_the_text_columns_of_a_real_frame():
    """The shipped all-MiniLM-L6-v2, frozen: two text columns share its 512 positions."""
    X, y = reviews(32)
    clf = TransformerClassifier(**TINY, backbone="default", freeze_backbone="all", max_epochs=1).fit(X, y)
    assert clf.backbone_info_.hidden_size == 384
    assert clf.encoder_.max_length == 256  # its own limit, 256 tokens, fits twice in 512 positions
    assert clf.predict_proba(X.iloc[:4]).shape == (4, 2)


def test_a_category_dtype_column_stays_a_category_and_string_dtype_text_is_text():
    X, y = reviews(60)
    X["review"] = X["review"].astype("string")  # pandas' string dtype, with pd.NA for missing
    X.loc[0, "review"] = pd.NA
    X["title"] = X["title"].astype("category")  # the user said: a category
    clf = TransformerClassifier(**TINY, max_epochs=1).fit(X, y)
    assert clf.text_columns_ == ["review"] and clf.categorical_columns_ == ["title", "colour"]
    assert np.isfinite(clf.predict_proba(X.iloc[:2])).all()
