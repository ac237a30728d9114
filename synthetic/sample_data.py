"""Write small, deterministic LIC2020-format data sets for the three tracks.

    python -m synthetic.sample_data --out DIR

DIR/reading_comprehension, DIR/relation_extraction and DIR/event_extraction
each get train, dev, test (and schema) files under their LIC2020 names.
Names of people, works, places and companies are drawn at random, so a model
can only score on dev by learning the context of a span, not the span itself.
"""
import argparse
import json
import os
import random

RESOURCES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "resources")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华玉萍红娥玲兰凤梅琳云莲真环雪荣爱妹香月莺媛瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽"
WORDS = "春风明月山河星海长歌天涯归途青云烈火白夜寻梦远方故乡流年时光花开半夏微凉锦绣浮生繁华落尘逐浪飞鸿江湖少年追光破晓"
PLACES = "北京上海广州深圳杭州南京成都重庆武汉西安长沙苏州天津青岛厦门昆明大连沈阳济南福州合肥郑州哈尔滨长春太原南宁贵阳兰州海口拉萨银川西宁呼和浩特"
COUNTRIES = ["中国", "法国", "英国", "德国", "日本", "美国", "意大利", "西班牙", "加拿大", "巴西", "埃及", "印度"]
ENGLISH = ["Apple", "Nova", "Sky", "Blue", "Alpha", "Star", "Mega", "Zen"]


class Pools:
    """Random names drawn from a seeded generator."""

    def __init__(self, rng):
        self.rng = rng

    def person(self):
        return self.rng.choice(SURNAMES) + "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice([1, 2, 2])))

    def title(self):
        n = self.rng.choice([2, 2, 3, 4])
        return "".join(self.rng.choice(WORDS) for _ in range(n))

    def place(self):
        i = self.rng.randrange(len(PLACES) // 2)
        return PLACES[2 * i:2 * i + 2]

    def company(self):
        head = self.rng.choice(ENGLISH) if self.rng.random() < 0.2 else self.title()[:2]
        return head + self.rng.choice(["科技", "集团", "公司", "传媒", "电子"])

    def date(self):
        return f"{self.rng.randint(1950, 2020)}年{self.rng.randint(1, 12)}月{self.rng.randint(1, 28)}日"

    def year(self):
        return f"{self.rng.randint(1900, 2020)}年"

    def number(self, unit):
        return f"{self.rng.randint(2, 9800)}{unit}"


# ---------------------------------------------------------------- DuIE 2.0

def _spo(schema, predicate, subject, **objects):
    slots = {("@value" if k == "value" else k): v for k, v in objects.items()}
    types = schema[predicate]
    return {"predicate": predicate, "subject": subject, "subject_type": types["subject_type"],
            "object": slots, "object_type": {k: types["object_type"][k] for k in slots}}


def duie_sentence(pools, schema):
    r, p = pools.rng, pools
    kind = r.randrange(8)
    S = lambda *a, **k: _spo(schema, *a, **k)  # noqa: E731
    if kind == 0:
        person, place = p.person(), p.place()
        school = place + "大学" if r.random() < 0.5 else p.title()[:2] + "学院"  # overlapping spans
        text = f"{person}，祖籍{place}，{r.choice(['毕业于', '本科就读于'])}{school}。"
        return text, [S("祖籍", person, value=place), S("毕业院校", person, value=school)]
    if kind == 1:
        film, director, a1, a2 = p.title(), p.person(), p.person(), p.person()
        text = r.choice([f"《{film}》是由{director}执导，{a1}、{a2}主演的电影。",
                         f"电影《{film}》由{a1}和{a2}领衔主演，导演是{director}。"])
        return text, [S("导演", film, value=director), S("主演", film, value=a1), S("主演", film, value=a2)]
    if kind == 2:
        actor, film, role = p.person(), p.title(), p.person()
        spos = [S("饰演", actor, value=role, inWork=film)]
        text = f"{actor}在电视剧《{film}》中饰演{role}"
        if r.random() < 0.5:
            film2, role2 = p.title(), p.person()
            text += f"，并在《{film2}》中为{role2}配音"
            spos.append(S("配音", actor, value=role2, inWork=film2))
        return text + "。", spos
    if kind == 3:
        person, film, date = p.person(), p.title(), p.date()
        award = r.choice(["金鸡奖", "百花奖", "金马奖", "金像奖", "飞天奖"]) + r.choice(["最佳男主角", "最佳女主角", "最佳导演"])
        text = f"{date}，{person}凭借《{film}》获得{award}。"
        return text, [S("获奖", person, value=award, inWork=film, onDate=date)]
    if kind == 4:
        husband, wife, child = p.person(), p.person(), p.person()
        if r.random() < 0.5:
            text = f"{husband}的妻子是{wife}。"
            return text, [S("妻子", husband, value=wife), S("丈夫", wife, value=husband)]
        text = f"{husband}与妻子{wife}育有一子{child}。"
        return text, [S("妻子", husband, value=wife), S("丈夫", wife, value=husband),
                      S("父亲", child, value=husband), S("母亲", child, value=wife)]
    if kind == 5:
        song, singer, album, lyricist = p.title(), p.person(), p.title(), p.person()
        composer = lyricist if r.random() < 0.3 else p.person()
        credits = f"{lyricist}作词作曲" if composer == lyricist else f"{lyricist}作词，{composer}作曲"
        text = f"《{song}》是{singer}演唱的歌曲，收录于专辑《{album}》，由{credits}。"
        return text, [S("歌手", song, value=singer), S("所属专辑", song, value=album),
                      S("作词", song, value=lyricist), S("作曲", song, value=composer)]
    if kind == 6:
        company, date, city, founder = p.company(), p.date(), p.place(), p.person()
        text = f"{company}成立于{date}，总部位于{city}，创始人是{founder}。"
        return text, [S("成立日期", company, value=date), S("总部地点", company, value=city),
                      S("创始人", company, value=founder)]
    film, date, area = p.title(), p.date(), r.choice(COUNTRIES)
    if r.random() < 0.5:
        return f"电影《{film}》于{date}在{area}上映。", [S("上映时间", film, value=date, inArea=area)]
    return f"电影《{film}》于{date}上映。", [S("上映时间", film, value=date)]


def write_duie(out, rng, sizes):
    schema_path = os.path.join(RESOURCES, "duie2_schema.json")
    with open(schema_path, encoding="utf-8") as f:
        schema_lines = f.read()
    schema = {s["predicate"]: s for s in map(json.loads, schema_lines.splitlines())}
    _write_text(os.path.join(out, "schema.json"), schema_lines)
    pools = Pools(rng)
    for name, n in zip(("train_data.json", "dev_data.json", "test1_data.json"), sizes):
        rows = []
        for _ in range(n):
            text, spos = duie_sentence(pools, schema)
            rows.append({"text": text} if name.startswith("test") else {"text": text, "spo_list": spos})
        _write_lines(os.path.join(out, name), rows)


# ---------------------------------------------------------------- DuEE 1.0

def _args(text, *pairs):
    return [{"role": role, "argument": arg, "argument_start_index": text.index(arg), "alias": []}
            for role, arg in pairs]


def _event(text, event_type, trigger, *pairs):
    return {"event_type": event_type, "trigger": trigger, "trigger_start_index": text.index(trigger),
            "class": event_type.split("-")[0], "arguments": _args(text, *pairs)}


def duee_sentence(pools):
    r, p = pools.rng, pools
    kind = r.randrange(7)
    if kind == 0:  # two events sharing arguments (the winner is also the champion)
        date, winner, loser = p.date(), p.place() + "队", p.place() + "队"
        match = r.choice(["全国联赛", "亚洲杯", "锦标赛", "邀请赛"])
        if r.random() < 0.3:
            text = f"{date}，{winner}击败{loser}，夺得{match}冠军。"
            return text, [_event(text, "竞赛行为-胜负", "击败", ("时间", date), ("胜者", winner), ("败者", loser)),
                          _event(text, "竞赛行为-夺冠", "夺得", ("时间", date), ("冠军", winner),
                                 ("夺冠赛事", match))]
        text = f"{date}，在{match}中{winner}以{r.randint(1, 5)}比{r.randint(0, 1)}击败{loser}。"
        return text, [_event(text, "竞赛行为-胜负", "击败", ("时间", date), ("赛事名称", match),
                             ("胜者", winner), ("败者", loser))]
    if kind == 1:  # two events: a lay-off, and someone leaving the same company
        date, company, n, person = p.date(), p.company(), p.number("人"), p.person()
        text = f"{date}，{company}宣布裁员{n}，高管{person}也已离职。"
        return text, [_event(text, "组织关系-裁员", "裁员", ("时间", date), ("裁员方", company), ("裁员人数", n)),
                      _event(text, "组织关系-辞/离职", "离职", ("离职者", person))]
    if kind == 2:
        a, b, date, place = p.person(), p.person(), p.date(), p.place()
        text = f"{a}与{b}于{date}在{place}举行婚礼。"
        return text, [_event(text, "人生-婚礼", "婚礼", ("结婚双方", a), ("结婚双方", b), ("时间", date),
                             ("地点", place))]
    if kind == 3:
        date, place = p.date(), p.place()
        level, dead = f"{r.randint(3, 8)}.{r.randint(0, 9)}级", p.number("人")
        text = f"{date}，{place}发生{level}地震，造成{dead}死亡。"
        return text, [_event(text, "灾害/意外-地震", "地震", ("时间", date), ("震中", place), ("震级", level),
                             ("死亡人数", dead))]
    if kind == 4:
        company, date, product = p.company(), p.date(), r.choice(ENGLISH) + r.choice(["手机", "电脑", "手表", "Pro"])
        text = f"{company}于{date}发布新款{product}。"
        return text, [_event(text, "产品行为-发布", "发布", ("发布方", company), ("时间", date),
                             ("发布产品", product))]
    if kind == 5:
        person, org, money = p.person(), p.place() + r.choice(["市场监管局", "税务局", "证监局"]), p.number("万元")
        text = f"{person}因违规经营被{org}罚款{money}。"
        return text, [_event(text, "司法行为-罚款", "罚款", ("罚款对象", person), ("执法机构", org),
                             ("罚款金额", money))]
    company, date, place, money = p.company(), p.date(), p.place(), p.number("亿元")
    text = f"{date}，{company}在{place}证券交易所上市，募资{money}。"
    return text, [_event(text, "财经/交易-上市", "上市", ("时间", date), ("上市企业", company), ("地点", place),
                         ("融资金额", money))]


DUEE_EVENT_TYPES = ["竞赛行为-胜负", "竞赛行为-夺冠", "组织关系-裁员", "组织关系-辞/离职", "人生-婚礼",
                    "灾害/意外-地震", "产品行为-发布", "司法行为-罚款", "财经/交易-上市"]


def write_duee(out, rng, sizes):
    with open(os.path.join(RESOURCES, "duee1_schema.json"), encoding="utf-8") as f:
        lines = [line for line in f.read().splitlines() if json.loads(line)["event_type"] in DUEE_EVENT_TYPES]
    _write_text(os.path.join(out, "event_schema.json"), "\n".join(lines) + "\n")
    pools = Pools(rng)
    for name, n in zip(("train.json", "dev.json", "test1.json"), sizes):
        rows = []
        for i in range(n):
            text, events = duee_sentence(pools)
            sid = f"{name.split('.')[0]}-{i:05d}"
            rows.append({"text": text, "id": sid} if name.startswith("test")
                        else {"text": text, "id": sid, "event_list": events})
        _write_lines(os.path.join(out, name), rows)


# ---------------------------------------------------------------- DuReader_robust

FACTS = [  # statement, question, answer maker
    ("{e}的首都是{a}。", "{e}的首都是哪里？", lambda p: p.place()),
    ("{e}的创始人是{a}。", "{e}的创始人是谁？", lambda p: p.person()),
    ("{e}成立于{a}。", "{e}是哪一年成立的？", lambda p: p.year()),
    ("《{e}》的作者是{a}。", "《{e}》是谁写的？", lambda p: p.person()),
    ("{e}的面积约为{a}。", "{e}的面积有多大？", lambda p: p.number("平方公里")),
    ("{e}出生于{a}。", "{e}出生在哪里？", lambda p: p.place()),
    ("{e}的主要产品是{a}。", "{e}主要生产什么？", lambda p: p.rng.choice(ENGLISH) + p.rng.choice(["芯片", "汽车", "电池"])),
    ("{e}的人口大约有{a}。", "{e}有多少人口？", lambda p: p.number("万人")),
]
FILLERS = ["这里四季分明，风景优美。", "许多游客慕名而来。", "当地的美食种类繁多，远近闻名。",
           "近年来发展十分迅速。", "相关资料显示，情况基本稳定。", "专家认为仍需进一步研究。",
           "这一说法得到了广泛认可。", "每年都会举办各种文化活动。", "交通便利，设施完善。"]


def dureader_paragraph(pools, pid):
    r, p = pools.rng, pools
    facts = r.sample(FACTS, r.randint(2, 5))
    long_context = r.random() < 0.3
    sentences, questions = [], []
    for statement, question, answer in facts:
        entity = p.title()[:3] if "《" in statement else (p.company() if "产品" in statement else p.title()[:2])
        a = answer(p)
        sentences.append(statement.format(e=entity, a=a))
        questions.append((question.format(e=entity), a))
    n_fill = r.randint(15, 35) if long_context else r.randint(0, 4)
    for _ in range(n_fill):
        sentences.insert(r.randrange(len(sentences) + 1), r.choice(FILLERS))
    if long_context:  # make sure the facts are spread out, one usually late
        last = next(i for i in range(len(sentences) - 1, -1, -1) if sentences[i] not in FILLERS)
        sentences.append(sentences.pop(last))
    context = "".join(sentences)
    qas = []
    for k, (question, a) in enumerate(r.sample(questions, min(2, len(questions)))):
        qas.append({"id": f"{pid}-{k}", "question": question,
                    "answers": [{"text": a, "answer_start": context.index(a)}]})
    return {"context": context, "qas": qas}


def write_dureader(out, rng, sizes):
    pools = Pools(rng)
    for name, n in zip(("train.json", "dev.json", "test1.json"), sizes):
        paragraphs = [dureader_paragraph(pools, f"{name.split('.')[0]}-{i:05d}") for i in range(n)]
        if name == "dev.json":  # as in the official dev set: offsets unknown, several answers allowed
            for para in paragraphs:
                for qa in para["qas"]:
                    qa["answers"] = [dict(a, answer_start=-1) for a in qa["answers"]] * 2
        if name.startswith("test"):
            for para in paragraphs:
                for qa in para["qas"]:
                    del qa["answers"]
        doc = {"data": [{"title": "", "paragraphs": paragraphs}]}
        _write_text(os.path.join(out, name), json.dumps(doc, ensure_ascii=False))


# ---------------------------------------------------------------- files

def _write_text(path, content):
    with open(path, "w", encoding="utf-8") as f:
        f.write(content)


def _write_lines(path, rows):
    _write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


SIZES = {"reading_comprehension": (1500, 100, 100), "relation_extraction": (2400, 150, 150),
         "event_extraction": (2400, 150, 150)}
WRITERS = {"reading_comprehension": write_dureader, "relation_extraction": write_duie,
           "event_extraction": write_duee}


def write_tracks(out, jobs):
    """Write every track of `jobs` ({track: (writer, seed, (train, dev, test) sizes)}) under `out`/<track>;
    returns {track: directory}."""
    dirs = {}
    for track, (writer, seed, sizes) in jobs.items():
        dirs[track] = os.path.join(out, track)
        os.makedirs(dirs[track], exist_ok=True)
        writer(dirs[track], random.Random(seed), sizes)
    return dirs


def write_sample_data(out, seed=2020, tracks=tuple(WRITERS), sizes=None):
    """Write the sample data sets under `out`/<track> (`sizes`: (train, dev, test) for every track instead of
    SIZES); returns {track: directory}."""
    return write_tracks(out, {track: (WRITERS[track], seed + i, sizes or SIZES[track]) for i, track in enumerate(tracks)})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=2020)
    args = parser.parse_args(argv)
    for track, directory in write_sample_data(args.out, args.seed).items():
        print(f"{track}: {directory}")


if __name__ == "__main__":
    main()
