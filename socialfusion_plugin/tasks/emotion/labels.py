"""EMOTIC's 26 emotion categories (canonical order of the release and of every answer), the
spellings the annotation files use for them, and the everyday words a model may answer with."""
from __future__ import annotations

import re
from typing import Dict, Optional, Tuple

CATEGORIES: Tuple[str, ...] = (
    "Affection", "Anger", "Annoyance", "Anticipation", "Aversion", "Confidence",
    "Disapproval", "Disconnection", "Disquietment", "Doubt/Confusion", "Embarrassment", "Engagement",
    "Esteem", "Excitement", "Fatigue", "Fear", "Happiness", "Pain", "Peace", "Pleasure", "Sadness",
    "Sensitivity", "Suffering", "Surprise", "Sympathy", "Yearning",
)
CATEGORY_ORDER: Dict[str, int] = {name: i for i, name in enumerate(CATEGORIES)}

# Spellings seen in annotation files and their conversions: the canonical names, whatever the case;
# the dataset's own README misspells Disquietment, and hand-made CSVs space the slash.
_RELEASE_NAMES: Dict[str, str] = {
    **{name.lower(): name for name in CATEGORIES},
    "disquitement": "Disquietment",
    "doubt / confusion": "Doubt/Confusion",
    "doubt confusion": "Doubt/Confusion",
}

# Words a model answering in plain language uses for a category. They follow the category
# definitions of the EMOTIC paper (Kosti et al., 2019, Table 1), so each word maps to one category.
SYNONYMS: Dict[str, str] = {
    "affectionate": "Affection", "love": "Affection", "loving": "Affection", "tenderness": "Affection",
    "angry": "Anger", "furious": "Anger", "rage": "Anger",
    "annoyed": "Annoyance", "irritated": "Annoyance", "irritation": "Annoyance", "frustrated": "Annoyance",
    "anticipating": "Anticipation", "expectant": "Anticipation", "expectation": "Anticipation",
    "hopeful": "Anticipation",
    "disgust": "Aversion", "disgusted": "Aversion", "dislike": "Aversion", "repulsion": "Aversion",
    "confident": "Confidence", "self-assured": "Confidence",
    "disapproving": "Disapproval", "disapprove": "Disapproval",
    "disconnected": "Disconnection", "bored": "Disconnection", "boredom": "Disconnection",
    "indifferent": "Disconnection", "distracted": "Disconnection",
    "disquiet": "Disquietment", "disquieted": "Disquietment", "nervous": "Disquietment",
    "worried": "Disquietment", "anxious": "Disquietment", "anxiety": "Disquietment", "tense": "Disquietment",
    "doubt": "Doubt/Confusion", "doubtful": "Doubt/Confusion", "confusion": "Doubt/Confusion",
    "confused": "Doubt/Confusion", "uncertain": "Doubt/Confusion", "puzzled": "Doubt/Confusion",
    "embarrassed": "Embarrassment", "ashamed": "Embarrassment", "shame": "Embarrassment",
    "engaged": "Engagement", "focused": "Engagement", "attentive": "Engagement", "interested": "Engagement",
    "respect": "Esteem", "admiration": "Esteem",
    "excited": "Excitement", "enthusiastic": "Excitement", "enthusiasm": "Excitement",
    "tired": "Fatigue", "exhausted": "Fatigue", "sleepy": "Fatigue", "fatigued": "Fatigue",
    "afraid": "Fear", "scared": "Fear", "frightened": "Fear", "fearful": "Fear", "terrified": "Fear",
    "happy": "Happiness", "joy": "Happiness", "joyful": "Happiness", "cheerful": "Happiness",
    "painful": "Pain", "hurt": "Pain", "in pain": "Pain",
    "peaceful": "Peace", "calm": "Peace", "relaxed": "Peace", "serene": "Peace",
    "pleased": "Pleasure", "enjoyment": "Pleasure", "delight": "Pleasure", "delighted": "Pleasure",
    "sad": "Sadness", "unhappy": "Sadness", "sorrow": "Sadness", "depressed": "Sadness",
    "sensitive": "Sensitivity", "vulnerable": "Sensitivity",
    "suffer": "Suffering", "suffers": "Suffering", "distressed": "Suffering", "anguish": "Suffering",
    "surprised": "Surprise", "astonished": "Surprise", "amazed": "Surprise", "shocked": "Surprise",
    "sympathetic": "Sympathy", "compassion": "Sympathy", "compassionate": "Sympathy",
    "longing": "Yearning", "yearn": "Yearning", "yearns": "Yearning",
}

_SPACES = re.compile(r"\s+")


def release_category(name: str) -> Optional[str]:
    """Canonical name of a category as written in an annotation file (case and spacing ignored),
    or None when it is not one of the 26. Everyday synonyms are NOT accepted here: ground truth
    must name a category, only model answers get the lenient reading."""
    return _RELEASE_NAMES.get(_SPACES.sub(" ", str(name).strip().lower()))


def in_canonical_order(names) -> list:
    """Unique category names sorted in the release order."""
    return sorted(set(names), key=CATEGORY_ORDER.__getitem__)
