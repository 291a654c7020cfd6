"""Suggests a demand's category from its Chinese text, and learns from staff corrections.

First version: counts the category seed words (Category.keywords) found in the text. The jieba
segmenter and the naive Bayes model over CategoryTerm counts replace it (issue 4, classification).
"""

from huijia.demands.models import Category


def suggest_category(text: str) -> Category | None:
    best, best_score = None, 0
    for category in Category.objects.filter(active=True).only("pk", "code", "name", "keywords"):
        score = sum(1 for word in category.keywords.split() if word and word in text)
        if score > best_score:
            best, best_score = category, score
    return best


def learn(text: str, category_id: int | None, delta: int = 1) -> None:
    """Records that `text` belongs to the category (delta -1 takes back an earlier lesson)."""
    return None
