"""Quick-start demo: a text and a tabular classifier trained from scratch, saved and reloaded.

Runs offline in about a minute on 2 CPU cores, on data the package builds itself.
"""

import os
import tempfile
import time

import joblib
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split

import sktransformer
from sktransformer import TransformerClassifier
from sktransformer.datasets import make_customers, make_reviews


def main():
    start = time.perf_counter()

    texts, y = make_reviews(2000, random_state=0)
    X_tr, X_te, y_tr, y_te = train_test_split(texts, y, test_size=0.25, random_state=0)
    text_clf = TransformerClassifier(max_epochs=10, random_state=0).fit(X_tr, y_tr)
    print(f"text    : TransformerClassifier accuracy {text_clf.score(X_te, y_te):.3f} "
          f"(vocabulary {text_clf.encoder_.vocab_size_} subwords, {len(text_clf.history_)} epochs)")

    X, y = make_customers(2000, random_state=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    table_clf = TransformerClassifier(max_epochs=15, random_state=0).fit(X_tr, y_tr)
    hgb = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0).fit(X_tr, y_tr)
    print(f"tabular : TransformerClassifier accuracy {table_clf.score(X_te, y_te):.3f}   "
          f"HistGradientBoosting {hgb.score(X_te, y_te):.3f}")

    with tempfile.TemporaryDirectory() as tmp:
        path = text_clf.save(os.path.join(tmp, "text_model.skt"))  # the safe format: no pickle
        reloaded = sktransformer.load(path)
        sample = ["The battery is not great, avoid it.", "Honestly, the camera is superb!"]
        same = (reloaded.predict_proba(sample) == text_clf.predict_proba(sample)).all()
        print(f"saved + reloaded the text model ({os.path.getsize(path) / 1e6:.1f} MB): "
              f"identical predictions: {bool(same)}; {sample[0]!r} -> {reloaded.predict(sample)[0]}, "
              f"{sample[1]!r} -> {reloaded.predict(sample)[1]}")
        path = os.path.join(tmp, "table_model.joblib")
        joblib.dump(table_clf, path)
        same = (joblib.load(path).predict_proba(X_te) == table_clf.predict_proba(X_te)).all()
        print(f"saved + reloaded the tabular model with joblib: identical predictions: {bool(same)}")

    print(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
