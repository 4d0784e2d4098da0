"""Small demo data the package builds itself (no download, no shipped files).

The generators are written for this project: the text set is made of short product reviews
assembled from word lists, the table mixes numeric and categorical columns with a known rule, and
the mixed set puts a free-text review beside a category and numbers.
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


_GARMENTS = {"shoes": ["boots", "sneakers", "sandals", "heels"], "dresses": ["dress", "maxi dress", "gown"],
             "jackets": ["coat", "parka", "blazer", "rain jacket"], "tops": ["blouse", "tee", "sweater", "tank"]}
# what a review can say about the fit, and where it makes the buyer send the item back: a size
# complaint matters for shoes and dresses, a warmth complaint for jackets
_REMARKS = {"size": ["runs small", "runs a size small", "runs large", "is a size too big"],
            "warmth": ["is too thin for winter", "is not warm at all", "is far too warm"],
            "none": ["fits true to size", "is exactly as pictured", "washes well", "has a lovely colour"]}
_RETURNED_WHEN = {"shoes": "size", "dresses": "size", "jackets": "warmth", "tops": None}
_TITLES = ["Nice", "Okay", "Love it", "Not sure", "Pretty", "Hmm", "Good buy", "Cute"]


def make_product_reviews(n_samples=1000, *, noise=0.05, random_state=None):
    """Synthetic clothing reviews in a DataFrame: free text beside a category and numbers.

    Whether an item was sent back depends on the review and the department together: a review
    that says the item "runs small" tells of a return for shoes and dresses but hardly for a top,
    one that says it "is too thin for winter" tells of a return for a jacket only; dearer items are
    sent back a little more often. Neither the text nor the other columns alone tell it all.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    noise : float, default=0.05
        Share of labels flipped at random.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : DataFrame of shape (n_samples, 5)
        ``title`` (a few words, sometimes missing) and ``review`` (free text), ``department`` (a
        category), ``price`` and ``age`` (numbers).
    y : ndarray of shape (n_samples,)
        1 when the item was sent back.

    Examples
    --------
    >>> from sktransformer.datasets import make_product_reviews
    >>> X, y = make_product_reviews(5, random_state=0)
    >>> list(X.columns)
    ['title', 'review', 'department', 'price', 'age']
    """
    import pandas as pd

    rng = check_random_state(random_state)
    departments = rng.choice(list(_GARMENTS), n_samples)
    price = rng.lognormal(3.8, 0.5, n_samples).round(2)
    age = rng.randint(18, 80, n_samples)
    titles, texts, y = [], [], np.empty(n_samples, dtype=np.int64)
    for i, dept in enumerate(departments):
        kind = rng.choice(list(_REMARKS), p=[0.35, 0.25, 0.4])
        garment = rng.choice(_GARMENTS[dept])
        sentence = f"The {garment} {rng.choice(_REMARKS[kind])}"
        if rng.rand() < 0.6:
            sentence += f" and {rng.choice(_REMARKS['none'])}"
        if rng.rand() < 0.5:
            sentence = f"{rng.choice(_FILLERS).capitalize()}, {sentence[0].lower()}{sentence[1:]}"
        texts.append(sentence + rng.choice([".", "!", ". Bought it for work."]))
        titles.append(None if rng.rand() < 0.15 else f"{rng.choice(_TITLES)} {garment}")
        p = 0.85 if _RETURNED_WHEN[dept] == kind else 0.1
        p = min(1.0, p + 0.1 * (price[i] > 70))
        label = int(rng.rand() < p)
        y[i] = label if rng.rand() >= noise else 1 - label
    X = pd.DataFrame({"title": titles, "review": texts, "department": pd.Categorical(departments),
                      "price": price, "age": age})
    return X, y
