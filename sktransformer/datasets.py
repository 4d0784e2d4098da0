"""Small demo data the package builds itself (no download, no shipped files).

The generators are written for this project: the text set is made of short product reviews
assembled from word lists, the table mixes numeric and categorical columns with a known rule.
"""

import numpy as np
from sklearn.utils import check_random_state

_SUBJECTS = ["the phone", "this blender", "the battery", "the screen", "my new laptop", "the app",
             "this jacket", "the headphones", "the delivery", "the camera", "this chair", "the printer"]
_POSITIVE = ["great", "excellent", "wonderful", "reliable", "fantastic", "sturdy", "brilliant",
             "comfortable", "fast", "lovely", "superb", "impressive"]
_NEGATIVE = ["terrible", "awful", "broken", "flimsy", "slow", "disappointing", "useless", "noisy",
             "horrible", "faulty", "poor", "annoying"]
_FILLERS = ["honestly", "to be fair", "after a week", "so far", "overall", "in my opinion",
            "for the price", "as expected", "surprisingly", "once again"]
_VERBS = ["is", "feels", "seems", "looks", "turned out"]
_ENDINGS = {1: ["would buy again", "highly recommended", "five stars", "my family loves it",
                "worth every penny"],
            0: ["returned it the next day", "avoid it", "one star", "want my money back",
                "never again"]}


def make_reviews(n_samples=1000, *, noise=0.05, random_state=None):
    """Short synthetic product reviews with a sentiment label.

    A review says a product is good or bad, sometimes through a negation ("is not great" is
    negative), so a model has to read more than single words to score well.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of reviews.
    noise : float, default=0.05
        Share of labels flipped at random.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    texts : list of str
        The reviews.
    y : ndarray of shape (n_samples,)
        1 for a positive review, 0 for a negative one.

    Examples
    --------
    >>> from sktransformer.datasets import make_reviews
    >>> texts, y = make_reviews(4, random_state=0)
    >>> len(texts), y.shape
    (4, (4,))
    """
    rng = check_random_state(random_state)
    texts, labels = [], np.empty(n_samples, dtype=np.int64)
    for i in range(n_samples):
        label = int(rng.rand() < 0.5)
        negate = rng.rand() < 0.3
        word_label = 1 - label if negate else label
        word = rng.choice(_POSITIVE if word_label else _NEGATIVE)
        verb = rng.choice(_VERBS)
        parts = [rng.choice(_SUBJECTS), verb, "not" if negate else "really" if rng.rand() < 0.3 else "",
                 word]
        sentence = " ".join(p for p in parts if p)
        if rng.rand() < 0.5:
            sentence = f"{rng.choice(_FILLERS)}, {sentence}"
        if rng.rand() < 0.5:
            sentence = f"{sentence}, {rng.choice(_ENDINGS[label])}"
        texts.append(sentence.capitalize() + rng.choice([".", "!", "..."]))
        labels[i] = label if rng.rand() >= noise else 1 - label
    return texts, labels


def make_customers(n_samples=1000, *, as_frame=True, random_state=None):
    """A synthetic churn table with numeric and categorical columns.

    Churn depends on an interaction (a monthly plan with many support calls), a threshold on
    tenure and the region, so neither a linear model nor a single feature gets it all.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    as_frame : bool, default=True
        Return a pandas DataFrame (with categorical ``plan`` and ``region`` columns) instead of a
        NumPy array with those columns one-hot encoded.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : DataFrame of shape (n_samples, 6) or ndarray of shape (n_samples, 10)
        Customers.
    y : ndarray of shape (n_samples,)
        1 when the customer left.

    Examples
    --------
    >>> from sktransformer.datasets import make_customers
    >>> X, y = make_customers(5, random_state=0)
    >>> list(X.columns)
    ['tenure_months', 'monthly_spend', 'support_calls', 'age', 'plan', 'region']
    """
    import pandas as pd

    rng = check_random_state(random_state)
    tenure = rng.gamma(2.0, 12.0, n_samples)
    spend = rng.normal(50, 15, n_samples).clip(5)
    calls = rng.poisson(1.5, n_samples)
    age = rng.randint(18, 80, n_samples)
    plan = rng.choice(["monthly", "yearly", "two-year"], n_samples, p=[0.5, 0.3, 0.2])
    region = rng.choice(["north", "south", "east", "west"], n_samples)
    logit = (-1.0 + 1.5 * (plan == "monthly") * (calls >= 2) - 1.2 * (tenure > 24)
             + 0.02 * (spend - 50) + 0.8 * (region == "east") - 0.6 * (plan == "two-year"))
    y = (rng.rand(n_samples) < 1 / (1 + np.exp(-2 * logit))).astype(np.int64)
    X = pd.DataFrame({
        "tenure_months": tenure.round(1), "monthly_spend": spend.round(2),
        "support_calls": calls, "age": age,
        "plan": pd.Categorical(plan), "region": pd.Categorical(region),
    })
    if not as_frame:
        X = pd.get_dummies(X, columns=["plan", "region"], dtype=float).to_numpy(dtype=np.float64)
    return X, y
