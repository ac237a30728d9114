"""DuIE label encoding and decoding, without training a model."""
import os

import numpy as np
import pytest

from relation_extraction import duie, spo

SCHEMA = os.path.join("synthetic", "resources", "duie2_schema.json")


@pytest.fixture(scope="module")
def labels():
    return spo.Labels.from_schema(duie.load_schema(SCHEMA))


def keys(spos):
    return sorted(duie.spo_key(s) for s in spos)


def S(p, s, **objects):
    return {"predicate": p, "subject": s, "object": {k.replace("value", "@value"): v for k, v in objects.items()}}


def test_real_schema_has_55_pairs(labels):
    assert len(labels.pairs) == 55
    assert ("饰演", "inWork") in labels.pairs and ("获奖", "period") in labels.pairs


def test_round_trip_of_every_sample_sentence(sample_dir, tokenizer, labels):
    sentences = duie.load(str(sample_dir / "relation_extraction" / "train_data.json"), labels.schema)
    mismatched = [s["text"] for s in sentences
                  if keys(spo.decode_gold(tokenizer, s, labels, 128)) != keys(s["spo_list"])]
    assert not mismatched, mismatched[:3]


@pytest.mark.parametrize("text, spos", [
    # one subject, two objects of one predicate: two SPOs, not one merged
    ("《春风》由张三和李四主演。", [S("主演", "春风", value="张三"), S("主演", "春风", value="李四")]),
    # complex predicate, two films: each role keeps its own film
    ("王五在《甲传》中饰演赵一，在《乙记》中饰演钱二。",
     [S("饰演", "王五", value="赵一", inWork="甲传"), S("饰演", "王五", value="钱二", inWork="乙记")]),
    ("2001年1月2日，孙七凭借《夜》获得金鸡奖。", [S("获奖", "孙七", value="金鸡奖", inWork="夜", onDate="2001年1月2日")]),
    # overlapping spans: the place inside the school's name
    ("周八毕业于北京大学，祖籍北京。", [S("毕业院校", "周八", value="北京大学"), S("祖籍", "周八", value="北京")]),
    # a subject that is also an object
    ("吴九的妻子是郑十。", [S("妻子", "吴九", value="郑十"), S("丈夫", "郑十", value="吴九")]),
    # English, digits and spaces in spans
    ("Apple Inc成立于1976年4月1日。", [S("成立日期", "Apple Inc", value="1976年4月1日")]),
])
def test_encode_decode_cases(tokenizer, labels, text, spos):
    sentence = {"text": text, "spo_list": spos}
    decoded = spo.decode_gold(tokenizer, sentence, labels, 64)
    assert keys(decoded) == keys(spos)
    for d in decoded:
        assert d["subject"] in text and all(v in text for v in d["object"].values())
        assert d["subject_type"] == labels.schema[d["predicate"]].subject_type


def test_long_text_spos_beyond_the_first_window(tokenizer, labels):
    filler = "这是一段很长的说明文字。" * 30
    text = filler + "吴九的妻子是郑十。" + filler
    sentence = {"text": text, "spo_list": [S("妻子", "吴九", value="郑十")]}
    assert keys(spo.decode_gold(tokenizer, sentence, labels, 64)) == keys(sentence["spo_list"])


def test_assemble_attaches_slots_to_the_nearest_value(labels):
    text = "甲在A中演B，在CC中演DD"
    objects = [(labels.index("饰演", "@value"), 5, 6), (labels.index("饰演", "inWork"), 2, 3),
               (labels.index("饰演", "@value"), 12, 14), (labels.index("饰演", "inWork"), 8, 10)]
    spos = spo.assemble_spos(text, (0, 1), objects, labels)
    assert sorted(tuple(sorted(s["object"].items())) for s in spos) == [
        (("@value", "B"), ("inWork", "A")), (("@value", "DD"), ("inWork", "CC"))]
    # a slot without any "@value" object makes no SPO
    assert spo.assemble_spos(text, (0, 1), [(labels.index("饰演", "inWork"), 2, 3)], labels) == []


def test_priors_are_the_label_frequencies(tokenizer, labels):
    sentence = {"text": "吴九的妻子是郑十。", "spo_list": [S("妻子", "吴九", value="郑十"), S("丈夫", "郑十", value="吴九")]}
    examples = spo.make_examples(tokenizer, sentence, labels, 64)
    rows = spo.training_rows(examples)
    subject_rate, object_rate = spo.priors(rows, len(labels.pairs))
    tokens = len(examples[0].token_ids)
    assert subject_rate == pytest.approx(2 * 2 / (2 * tokens))  # 2 subjects (start + end) of 2 label slots a token
    assert object_rate == pytest.approx(2 * 2 / (2 * 2 * tokens * len(labels.pairs)))  # one object per subject


def test_sampled_subjects_follow_the_2020_design(tokenizer, labels):
    sentence = {"text": "《春风》由张三和李四主演，王五的妻子是赵六。",
                "spo_list": [S("主演", "春风", value="张三"), S("妻子", "王五", value="赵六")]}
    examples = spo.make_examples(tokenizer, sentence, labels, 64) * 50
    rows = spo.sample_rows(examples, np.random.default_rng(0))
    assert len(rows) == 50  # one row per window holding subjects
    starts = {s for s, _ in examples[0].subjects}
    assert all(r[1][0] in starts and r[1][1] >= r[1][0] for r in rows)
    assert len({r[1] for r in rows}) > 2  # a start with an end of another subject: negatives too


def test_caps_come_from_the_training_data(tokenizer, labels):
    sentence = {"text": "《春风》由张三和李四主演。", "spo_list": [S("主演", "春风", value="张三"), S("主演", "春风", value="李四")]}
    examples = spo.make_examples(tokenizer, sentence, labels, 64)
    assert spo.prediction_caps(examples) == (2 * 1 + 4, 2 * 2 + 4)
