"""The quality panel's lexical and order rules, and its measures on hand-made vectors (no model needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from longform.quality import lexical, measures, order
from longform.quality.encoders import CharGrams
from longform.quality.units import paragraphs, parts


@pytest.mark.parametrize("sentence, language, meta", [
    ("In the next section, I will explain how lighthouses were built.", "en", True),
    ("Here is the next part of the story you asked for.", "en", True),
    ("I hope this helps you understand tea!", "en", True),
    ('"I\'m going to tell you a secret," the keeper said.', "en", False),  # dialogue, not meta-talk
    ("The keeper climbed the stairs and lit the lamp.", "en", False),
    ("The plan will cost 68 million dollars.", "en", False),
    ("They're going to continue with their mission until dawn.", "en", False),  # seen in a generated story
    ("We strive to continue this incredible work.", "en", False),
    # the 135M model's talk about its own piece between parts (fresh-parts demo runs, 2026-12-03)
    ("This is another part of the article on how lighthouse keepers do their jobs.", "en", True),
    ("Part 4 has only two sentences and they both discuss lighthouse building.", "en", True),
    ("This is just one part I could keep writing if you wanted me to continue.", "en", True),
    ("To provide you with an accurate summary of what has been stated so far in part 1 is hard.", "en", True),
    ("## Building a Lifecycle\n\nWriting the article: How lighthouses began.", "en", True),
    ("The first part of the voyage took the keeper past the reef.", "en", False),
    ("Part of the tower collapsed in the storm of 1703.", "en", False),
    ("The article of faith was written in the keeper's log.", "en", False),
    # a fresh-parts demo section that was all talk about the writing, none of it caught before
    ("The first part I was going to write would be: How lighthouses are build", "en", True),
    ("This will go into all those details about building lighthouses and what makes them stand.", "en", True),
    ("It is a topic we have talked about before but we still need to make sure we keep covering topics.", "en", True),
    ("The first part is done now so it's time to think about where we should get new ideas from.", "en", True),
    ("So this is my next part, and I will just go ahead with the rest of it.", "en", True),
    ("The past 3 parts are written in one section at a time, each part repeating again.", "en", True),
    ("The ending has been rewritten with no explanation; however the beginning still holds.", "en", True),
    ("The keepers were going to write to the board about the failing lamp.", "en", False),
    ("The work on the first part is done by hand, the rest by machine.", "en", False),
    ("以下是文章的下一部分。", "zh", True),
    ("希望这篇文章对你有所帮助！", "zh", True),
    ("老周把信一字一句念给她听。", "zh", False),
])
def test_meta_talk_is_talk_about_the_writing(sentence, language, meta):
    assert lexical.is_meta(sentence, language) is meta


def test_no_sentence_of_the_labelled_good_texts_is_meta_talk():
    # the calibration guard for the patterns above: widened from generated text, they must still pass
    # every sentence a good writer wrote (the shipped set and the held-out one)
    from longform.quality.labelled import load_set
    from longform.text import split_sentences

    folder = Path(__file__).parent / "labelled"
    texts = [t for sub in (folder, folder / "heldout") for t in load_set(sub, folder)[0]]
    assert len(texts) >= 20
    flagged = [s for t in texts for p in t.paragraphs for s in split_sentences(p) if lexical.is_meta(s, t.language)]
    assert flagged == []


@pytest.mark.parametrize("paragraphs_, language, ends_open", [
    (["The light burned all night.", "She could not make a new"], "en", True),
    (["The light burned all night.", "In the morning the engineers arrived and"], "en", True),
    (["Dear Sam,", "I am proud of you.", "With all my love,", "Grandma"], "en", False),  # a letter's signature
    (["The light burned all night.", "Grandma"], "en", True),  # outside a letter, a final line must end a sentence
    (["风停了。", "远远地，他们看见“海燕号”"], "zh", True),  # a quote closing a name does not end a sentence
    (["尊敬的居委会：", "我们期待您的回复！", "此致\n敬礼！", "住户：王建国"], "zh", False),
    (["风停了。", "他说：“我们回家吧。”"], "zh", False),
])
def test_unfinished_documents(paragraphs_, language, ends_open):
    assert lexical.unfinished(paragraphs_, language)[0] is ends_open


def test_debris_lines_are_found_in_prose():
    share, found = lexical.debris_share(["A paragraph of prose.\n**", "Word count: 350\nMore prose.",
                                         "第三部分：\n正文。"])
    assert share == 1.0 and found == ["**", "Word count: 350", "第三部分："]
    assert lexical.debris_share(["Prose with **bold words** in it.", "1914 was a year."])[0] == 0.0


def test_order_rules_see_ordinals_names_letters_datelines_and_time():
    essay = ["Tea began in China, as Tomas Reyne wrote.", "First, it was medicine.", "Second, it became a pleasure.",
             "Finally, it spread everywhere."]
    assert sum(order.order_check(essay, "en")["violations"].values()) == 0
    shuffled = [essay[3], essay[2], essay[0], essay[1]]
    found = order.order_check(shuffled, "en")
    assert found["violations"]["ordinals"] >= 2 and found["disorder"] > 0.5
    names = ["Tomas climbed the stairs.", "That night Tomas Reyne wrote in the log.", "He slept."]
    assert order.order_check(names, "en")["violations"]["names"] == 1
    letter = ["I am writing about the boiler.", "Dear Mr Hartley,", "Yours sincerely,"]
    assert order.order_check(letter, "en")["violations"]["letter"] >= 1
    news = ["市民纷纷前来体验。", "本报讯 地铁五号线昨日开通。"]
    assert order.order_check(news, "zh")["violations"]["letter"] == 1  # a dateline belongs to the first paragraph
    night = ["下午三点，台风预警发出。", "半夜，林婶敲门。", "天黑以后，风紧了。"]
    assert order.order_check(night, "zh")["violations"]["calendar"] == 1
    next_day = ["傍晚他回到镇上。", "第二天早上，他照旧早起。"]
    assert order.order_check(next_day, "zh")["violations"]["calendar"] == 0


def test_a_text_without_order_marks_is_not_called_disordered():
    plain = ["Some prose here.", "More prose there.", "And a last line of prose."]
    assert order.order_check(plain, "en")["disorder"] == 0.0


def test_restatements_skip_neighbours_and_find_paraphrases():
    v = np.eye(5)
    v[4] = v[1]  # part 4 repeats part 1, three places back
    v[2] = (v[1] + v[2]) / np.linalg.norm(v[1] + v[2])  # part 2 is close to its neighbour: allowed
    r = measures.restatements(v)
    assert r[4] == pytest.approx(1.0) and r[2] == 0.0 and r[3] == 0.0


def test_off_topic_needs_both_the_request_and_the_text_to_be_far():
    on, fit = np.array([0.5, 0.05, 0.05]), np.array([0.6, 0.5, 0.02])
    assert measures.off_topic(on, fit, 0.2).tolist() == [False, False, True]


def test_plan_adherence_pairs_sections_with_their_own_points():
    points = np.eye(3)
    assert measures.plan_adherence(points, points)[0] == 1.0
    assert measures.plan_adherence(points[[1, 0, 2]], points)[0] == pytest.approx(1 / 3)
    assert measures.plan_adherence(points[[0, 2]], points, owners=[0, 2]) == (1.0, [True, True], [1.0, 1.0])


def test_decay_and_positions():
    values, positions = np.array([1.0, 1.0, 0.5, 0.5]), np.array([0.1, 0.3, 0.7, 0.9])
    assert measures.decay(values, positions) == pytest.approx(0.5)
    assert measures.by_position(values, positions, bins=2) == [1.0, 0.5]


def test_chinese_vectors_share_subject_words():
    v = CharGrams().vectors(["地铁五号线正式开通运营。", "五号线的列车最高时速八十公里。", "多肉植物需要充足的光照。"])
    assert v[0] @ v[1] > 0.2 > v[0] @ v[2]


def test_parts_follow_paragraphs_and_merge_fragments():
    text = "# Title\n\nDear Sam,\n\n" + ("A sentence of eight words goes right here. " * 6) + "\n\n" + \
           ("Another paragraph with its own words. " * 8) + "\n\nLove,"
    ps = parts(paragraphs(text), "en")
    assert len(ps) == 2
    assert ps[0].text.startswith("Dear Sam,") and ps[1].text.endswith("Love,")
    assert ps[0].paragraphs == (0, 1) and ps[1].paragraphs == (2, 3)


def test_function_words_tell_prose_from_a_string_of_nouns():
    prose = ["The keeper climbed the stairs and lit the lamp before the ships came in."]
    salad = ["Cobalt shapes compass velvet river linen market compass ember market harvest chapel opal."]
    assert lexical.function_word_share(prose, "en") > 0.3 > 0.05 > lexical.function_word_share(salad, "en")
    assert lexical.function_word_share(["他把信一字一句念给她听。"], "zh") > 0.2
    assert lexical.function_word_share(["1234"], "en") is None
