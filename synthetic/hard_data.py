"""Harder LIC-format data sets, for learning curves, benchmarks and the tests' learning floors.

    python -m synthetic.hard_data --out DIR [--sizes 750 150 150] [--seed 7]

Beside the easy sample of synthetic.sample_data (a handful of fixed sentence
shapes), these sets are built to need context, as the official ones do:

relation extraction: all 48 predicates of the real DuIE 2.0 schema (complex
    objects included), several SPOs per sentence around one topic entity,
    objects that are subjects of further SPOs, nested spans (a place inside a
    school's name), and distractor entities of the same types that play no role.
event extraction: all 65 event types of the real DuEE 1.0 schema, one to
    three events per sentence; arguments shared by two events or nested in
    each other (about as often as in the official dev file, where 11% of the
    arguments overlap another one) and distractor entities; triggers in many
    forms, some of the test ones unseen in training, a long tail of types, and
    most events told in frames that every type shares, so that the type comes
    from the trigger as in real news, not from words only its clauses hold.
reading comprehension: long contexts (answers often beyond the first window),
    near-miss distractors (the same relation of another entity, the same
    entity's other facts), questions worded unlike their statements, answers
    of one to twenty-odd characters, and several gold answers in dev.
"""
import argparse
import json
import os
import random
import re

from synthetic.sample_data import COUNTRIES, ENGLISH, RESOURCES, Pools, _write_lines, _write_text, write_tracks

CITIES = ["北京", "上海", "广州", "深圳", "杭州", "南京", "成都", "重庆", "武汉", "西安", "长沙", "苏州", "天津",
          "青岛", "厦门", "昆明", "大连", "沈阳", "济南", "福州", "合肥", "郑州", "哈尔滨", "长春", "太原", "南宁",
          "贵阳", "兰州", "海口", "拉萨", "银川", "西宁", "无锡", "宁波", "温州", "佛山", "东莞", "珠海", "洛阳", "桂林"]
PROVINCES = ["河北", "山西", "辽宁", "吉林", "江苏", "浙江", "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南",
             "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾"]
CAPITALS = ["巴黎", "伦敦", "柏林", "东京", "华盛顿", "罗马", "马德里", "渥太华", "巴西利亚", "开罗", "新德里",
            "莫斯科", "首尔", "曼谷", "河内", "雅加达", "堪培拉", "维也纳"]
LANGUAGES = ["英语", "法语", "德语", "日语", "西班牙语", "葡萄牙语", "阿拉伯语", "印地语", "俄语", "韩语", "泰语"]
CLIMATES = ["亚热带季风气候", "温带季风气候", "热带雨林气候", "温带大陆性气候", "地中海气候", "高原山地气候",
            "热带季风气候", "温带海洋性气候"]
DYNASTIES = ["唐代", "宋代", "明代", "清代", "汉代", "元代", "晋代", "隋代", "北宋", "南宋", "东汉", "西汉"]
MAJORS = ["计算机科学与技术", "软件工程", "临床医学", "汉语言文学", "机械工程", "电子信息工程", "会计学", "法学",
          "建筑学", "金融学", "生物科学", "应用化学", "土木工程", "新闻学"]
AWARDS = ["金鸡奖", "百花奖", "金马奖", "金像奖", "飞天奖", "白玉兰奖", "华表奖", "金鹰奖"]
AWARD_KINDS = ["最佳男主角", "最佳女主角", "最佳导演", "最佳编剧", "最佳男配角", "最佳女配角", "最佳新人"]
SPOTS = ["古镇", "公园", "寺", "湖", "山", "塔", "古城", "湿地"]
SCHOOL_KINDS = ["大学", "师范大学", "理工大学", "学院", "中学", "艺术学院"]
ORG_KINDS = ["研究院", "图书馆", "博物馆", "医院", "体育中心", "研究所"]
MEDIA = ["新华社", "人民网", "央视新闻", "澎湃新闻", "新浪娱乐", "腾讯体育", "财经网", "环球时报"]
TEAM_SUFFIX = ["队", "俱乐部", "战队"]
LEAGUES = ["全国联赛", "亚洲杯", "锦标赛", "邀请赛", "公开赛", "世界杯", "大奖赛", "全运会"]
SPORTS = ["男篮", "女排", "羽毛球", "乒乓球", "网球", "田径", "游泳"]
PRODUCTS = ["手机", "平板电脑", "笔记本电脑", "智能手表", "电动汽车", "耳机", "无人机", "游戏机"]


class HardPools(Pools):
    """More entity kinds than the sample's pools; names stay random so only context tells roles apart."""

    def person(self):
        if self.rng.random() < 0.08:  # a transliterated foreign name, with its middle dot
            syllables = "约翰玛丽安娜杰克汤姆艾伦大卫彼得露西凯特莉亚斯蒂芬罗伯特"
            first = "".join(self.rng.choice(syllables) for _ in range(self.rng.choice([2, 3])))
            return first + "·" + "".join(self.rng.choice(syllables) for _ in range(self.rng.choice([2, 3])))
        return super().person()

    def film(self):
        return self.title()

    def song(self):
        return self.title() if self.rng.random() < 0.85 else self.rng.choice(ENGLISH) + " " + self.rng.choice(ENGLISH)

    def show(self):
        return self.title()[:2] + self.rng.choice(["好声音", "大冒险", "请回答", "来了", "挑战", "的歌"])

    def book(self):
        return self.title() + self.rng.choice(["", "传", "记", "录"])

    def city(self):
        return self.rng.choice(CITIES)

    def region(self):
        return self.rng.choice([self.city() + "市", self.rng.choice(PROVINCES) + "省", self.city() + "市"
                                + self.title()[:2] + "区"])

    def school(self):
        return self.rng.choice([self.city(), self.title()[:2], self.rng.choice(PROVINCES)]) + \
            self.rng.choice(SCHOOL_KINDS)

    def org(self):
        return self.rng.choice([self.school(), self.company(), self.city() + self.rng.choice(ORG_KINDS)])

    def spot(self):
        return self.title()[:2] + self.rng.choice(SPOTS)

    def award(self):
        return self.rng.choice(AWARDS) + self.rng.choice(AWARD_KINDS)

    def team(self):
        return self.rng.choice([self.city(), self.title()[:2]]) + self.rng.choice(TEAM_SUFFIX)

    def league(self):
        return str(self.rng.randint(2000, 2024)) + "年" + self.rng.choice(SPORTS) + self.rng.choice(LEAGUES)

    def time(self):
        r = self.rng.random()
        if r < 0.4:
            return self.date()
        if r < 0.7:
            return f"{self.rng.randint(1, 12)}月{self.rng.randint(1, 28)}日"
        if r < 0.85:
            return f"{self.rng.randint(1, 12)}月{self.rng.randint(1, 28)}日{self.rng.choice(['上午', '下午', '晚间'])}"
        return self.rng.choice(["今天", "昨日", "近日", "本周一", "上周五", "当天"])

    def money(self):
        return f"{self.rng.randint(2, 980)}{self.rng.choice(['万元', '亿元', '万美元', '亿美元'])}"

    def percent(self):
        return f"{self.rng.randint(1, 60)}%" if self.rng.random() < 0.6 else f"{self.rng.randint(1, 50)}个基点"

    def product(self):
        return self.rng.choice([self.rng.choice(ENGLISH) + " " + str(self.rng.randint(2, 15)),
                                self.title()[:2] + self.rng.choice(PRODUCTS)])

    def unit(self, kind):
        """A number with the unit its kind takes."""
        r = self.rng
        return {"area": f"{r.randint(2, 9800)}{r.choice(['平方公里', '万平方米', '亩'])}",
                "people": f"{r.randint(2, 3000)}{r.choice(['万人', '万'])}",
                "height": f"{r.randint(50, 6500)}米", "years": f"{r.choice(['二', '三', '四', '五', '八'])}年",
                "box": f"{r.randint(1, 60)}.{r.randint(1, 9)}亿{r.choice(['元', '美元'])}",
                "capital": f"{r.randint(100, 9000)}万元", "count": f"{r.randint(2, 900)}人",
                "age": f"{r.randint(18, 99)}岁", "magnitude": f"{r.randint(3, 8)}.{r.randint(0, 9)}级",
                "depth": f"{r.randint(5, 30)}千米", "term": f"{r.randint(1, 15)}年",
                "period": str(r.randint(2, 40))}[kind]


# ---------------------------------------------------------------- DuIE 2.0

# entity kind of every subject/object type of the schema
TYPE_KIND = {"人物": "person", "娱乐人物": "person", "历史人物": "person", "影视作品": "film", "作品": "film",
             "歌曲": "song", "音乐专辑": "album", "图书作品": "book", "文学作品": "book", "电视综艺": "show",
             "企业": "company", "企业/品牌": "company", "机构": "org", "学校": "school", "行政区": "region",
             "地点": "city", "城市": "city", "国家": "country", "语言": "language", "气候": "climate",
             "学科专业": "major", "景点": "spot", "奖项": "award", "Date": "date"}
WORK_KINDS = {"film", "song", "album", "book", "show"}  # written in 《》
PRONOUNS = {"person": ["他", "其"], "film": ["该片", "该剧"], "song": ["这首歌", "该曲"], "book": ["该书"],
            "show": ["该节目"], "company": ["该公司", "其"], "org": ["该机构"], "school": ["该校"],
            "region": ["当地", "该地"], "country": ["该国"], "spot": ["该景区"], "major": ["该专业"]}
# values of Number and Text objects, by predicate
VALUE_KIND = {"占地面积": "area", "面积": "area", "人口数量": "people", "海拔": "height", "修业年限": "years",
              "票房": "box", "注册资本": "capital"}

# clause templates per predicate: {s} the subject, {o} the "@value" object, {slot} the other slots
RE_TEMPLATES = {
    "毕业院校": ["{s}毕业于{o}", "{s}本科就读于{o}", "{s}于{o}取得学士学位"],
    "嘉宾": ["{o}作为嘉宾参加了{s}的录制", "{s}邀请{o}担任飞行嘉宾"],
    "配音": ["{s}在{inWork}中为{o}配音", "{s}为动画{inWork}里的{o}献声"],
    "主题曲": ["{o}是{s}的主题曲", "{s}的主题曲{o}广为传唱"],
    "代言人": ["{o}担任{s}的品牌代言人", "{s}宣布{o}成为其全球代言人"],
    "所属专辑": ["{s}收录于专辑{o}", "{s}出自专辑{o}"],
    "父亲": ["{s}的父亲是{o}", "{s}的父亲{o}是一名教师"],
    "作者": ["{s}是{o}创作的长篇小说", "{s}的作者是{o}"],
    "上映时间": ["{s}于{o}在{inArea}上映", "{s}于{o}上映", "{s}在{inArea}的上映日期为{o}"],
    "母亲": ["{s}的母亲是{o}", "{s}的母亲{o}曾是演员"],
    "专业代码": ["{s}专业的代码为{o}", "{s}（专业代码{o}）"],
    "占地面积": ["{s}占地面积{o}", "{s}占地约{o}"],
    "邮政编码": ["{s}的邮政编码是{o}", "{s}邮编{o}"],
    "票房": ["{s}在{inArea}的票房达到{o}", "{s}累计票房{o}"],
    "注册资本": ["{s}注册资本{o}", "{s}的注册资本为{o}"],
    "主角": ["{s}的主角是{o}", "{s}讲述了主人公{o}的故事"],
    "妻子": ["{s}的妻子是{o}", "{s}与妻子{o}"],
    "编剧": ["{s}由{o}编剧", "{s}的编剧是{o}"],
    "气候": ["{s}属{o}", "{s}为{o}"],
    "歌手": ["{s}是{o}演唱的歌曲", "{s}由{o}演唱"],
    "获奖": ["{s}凭借{inWork}获得第{period}届{o}", "{onDate}，{s}凭借{inWork}获得{o}", "{s}获得{o}"],
    "校长": ["{s}的校长是{o}", "{o}出任{s}校长"],
    "创始人": ["{s}由{o}创办", "{s}的创始人是{o}"],
    "首都": ["{s}的首都是{o}", "{s}首都{o}"],
    "丈夫": ["{s}的丈夫是{o}", "{s}与丈夫{o}"],
    "朝代": ["{s}是{o}著名诗人", "{s}，{o}书法家"],
    "饰演": ["{s}在{inWork}中饰演{o}", "{s}在{inWork}里扮演{o}"],
    "面积": ["{s}总面积{o}", "{s}面积约{o}"],
    "总部地点": ["{s}总部位于{o}", "{s}的总部设在{o}"],
    "祖籍": ["{s}祖籍{o}", "{s}的祖籍是{o}"],
    "人口数量": ["{s}常住人口{o}", "{s}人口约{o}"],
    "制片人": ["{s}的制片人是{o}", "{s}由{o}担任制片人"],
    "修业年限": ["{s}专业学制{o}", "{s}的修业年限为{o}"],
    "所在城市": ["{s}位于{o}", "{s}坐落在{o}"],
    "董事长": ["{s}董事长{o}", "{o}出任{s}董事长"],
    "作词": ["{s}由{o}作词", "{s}的词作者是{o}"],
    "改编自": ["{s}改编自小说{o}", "{s}根据{o}改编"],
    "出品公司": ["{s}由{o}出品", "{s}的出品方是{o}"],
    "导演": ["{s}由{o}执导", "{s}的导演是{o}"],
    "作曲": ["{s}由{o}作曲", "{s}的曲作者是{o}"],
    "主演": ["{s}由{o}主演", "{o}在{s}中担任主演"],
    "主持人": ["{s}的主持人是{o}", "{s}由{o}主持"],
    "成立日期": ["{s}成立于{o}", "{s}创建于{o}"],
    "简称": ["{s}（简称{o}）", "{s}，简称{o}"],
    "海拔": ["{s}海拔{o}", "{s}平均海拔约{o}"],
    "号": ["{s}，号{o}", "{s}号{o}"],
    "国籍": ["{s}是{o}籍演员", "{s}，{o}国籍"],
    "官方语言": ["{s}的官方语言是{o}", "{s}通行{o}"],
}
# clauses that mention entities of a kind without giving them any role
DISTRACTORS = {
    "person": ["据{x}透露", "{x}也出席了当天的活动", "记者{x}报道", "{x}对此表示祝贺", "影评人{x}给出了好评"],
    "film": ["与{x}同期上映", "其续集{x}正在筹备", "此前的{x}反响平平"],
    "song": ["现场还演唱了{x}", "同专辑的{x}也登上榜单"],
    "company": ["{x}也参与了投资", "{x}随后发表声明"],
    "city": ["此次活动在{x}举行", "消息从{x}传来"],
    "date": ["{x}，消息正式公布", "截至{x}"],
    "school": ["{x}的学生也到场"],
    "country": ["{x}媒体也做了报道"],
}


class DuieSchemaView:
    """The schema, indexed for generation: predicates by subject kind."""

    def __init__(self, schema):
        self.schema = schema
        self.by_subject = {}
        for name, p in schema.items():
            self.by_subject.setdefault(TYPE_KIND[p["subject_type"]], []).append(name)


class DuieSentenceMaker:
    """Sentences around one topic entity: several SPOs, a chained SPO, distractor clauses."""

    def __init__(self, pools, schema):
        self.pools, self.view = pools, DuieSchemaView(schema)

    def entity(self, kind):
        p = self.pools
        return {"person": p.person, "film": p.film, "song": p.song, "album": p.title, "book": p.book,
                "show": p.show, "company": p.company, "org": p.org, "school": p.school, "region": p.region,
                "city": p.city, "country": lambda: p.rng.choice(COUNTRIES), "language": lambda: p.rng.choice(LANGUAGES),
                "climate": lambda: p.rng.choice(CLIMATES), "major": lambda: p.rng.choice(MAJORS),
                "spot": p.spot, "award": p.award, "date": p.date}[kind]()

    def value(self, predicate, slot, object_type):
        p, r = self.pools, self.pools.rng
        if predicate == "首都":
            return r.choice(CAPITALS)
        kind = TYPE_KIND.get(object_type)
        if kind:
            return self.entity(kind)
        if slot == "period":
            return p.unit("period")
        if predicate in VALUE_KIND:
            return p.unit(VALUE_KIND[predicate])
        if predicate == "专业代码":
            return f"0{r.randint(10000, 99999)}"
        if predicate == "邮政编码":
            return str(r.randint(100000, 850000))
        if predicate == "朝代":
            return r.choice(DYNASTIES)
        if predicate == "号":
            return p.title()[:2] + r.choice(["居士", "山人", "先生", "老人"])
        if predicate == "简称":
            return ""  # made from the subject's name in clause()
        raise ValueError(f"no value generator for {predicate}/{slot} ({object_type})")

    def render(self, value, kind):
        return f"《{value}》" if kind in WORK_KINDS else value

    def clause(self, predicate, subject, subject_text, objects=None):
        """(clause text, SPO) of one predicate; `subject_text` is how the subject is written here."""
        p = self.view.schema[predicate]
        r = self.pools.rng
        template = r.choice(RE_TEMPLATES[predicate])
        objects = dict(objects or {})
        for slot, object_type in p["object_type"].items():
            if slot not in objects:
                objects[slot] = self.value(predicate, slot, object_type)
        # "@value" first, then the schema's order (a list, not a set: the same bytes on every run)
        written = [slot for slot in p["object_type"] if "{" + (slot if slot != "@value" else "o") + "}" in template]
        slots = sorted(written, key=lambda s: s != "@value")
        if predicate == "简称":  # an abbreviation made from the name's own characters
            objects["@value"] = subject[0] + subject[2] if len(subject) > 3 else subject[0] + subject[-1]
        rendered = {"s": subject_text}
        for slot in slots:
            kind = TYPE_KIND.get(p["object_type"][slot])
            rendered["o" if slot == "@value" else slot] = self.render(objects[slot], kind)
        text = template.format(**rendered)
        spo = {"predicate": predicate, "subject": subject, "subject_type": p["subject_type"],
               "object": {slot: objects[slot] for slot in slots},
               "object_type": {slot: p["object_type"][slot] for slot in slots}}
        return text, spo

    def sentence(self):
        r, view = self.pools.rng, self.view
        kind = r.choice([k for k in view.by_subject for _ in range(min(len(view.by_subject[k]), 4))])
        subject = self.entity(kind)
        predicates = r.sample(view.by_subject[kind], min(len(view.by_subject[kind]), r.choice([1, 2, 3, 3, 4, 5])))
        clauses, spos = [], []
        for predicate in predicates:
            for _ in range(2 if predicate in ("主演", "嘉宾") and r.random() < 0.4 else 1):
                subject_text = self.render(subject, kind)
                if clauses and kind in PRONOUNS and r.random() < 0.5:
                    subject_text = r.choice(PRONOUNS[kind])  # named in the first clause: a pronoun now
                text, spo = self.clause(predicate, subject, subject_text)
                clauses.append(text)
                spos.append(spo)
        # an object that is the subject of one more SPO (overlapping roles)
        for spo in list(spos):
            value_kind = TYPE_KIND.get(spo["object_type"].get("@value"))
            if value_kind in view.by_subject and r.random() < 0.35:
                predicate = r.choice(view.by_subject[value_kind])
                text, chained = self.clause(predicate, spo["object"]["@value"],
                                            self.render(spo["object"]["@value"], value_kind))
                clauses.append(text)
                spos.append(chained)
                break
        # a reversed pair (妻子/丈夫) for people
        if kind == "person" and r.random() < 0.2:
            spouse = self.entity("person")
            clauses.append(f"{subject}与妻子{spouse}育有一女" if r.random() < 0.5 else f"{subject}的妻子是{spouse}")
            spos.append(self.clause("妻子", subject, subject, {"@value": spouse})[1])
            spos.append(self.clause("丈夫", spouse, spouse, {"@value": subject})[1])
        # distractors: entities of the same kinds that play no role
        for _ in range(r.choice([0, 1, 2, 2])):
            d_kind = r.choice(list(DISTRACTORS))
            x = self.render(self.entity(d_kind), d_kind)
            clauses.insert(r.randrange(len(clauses) + 1), r.choice(DISTRACTORS[d_kind]).format(x=x))
        text = "，".join(clauses) + "。"
        # keep the SPOs whose strings made it into the text (a pronoun may hide a subject)
        spos = [s for s in spos if s["subject"] in text and all(v in text for v in s["object"].values())]
        unique = {json.dumps(s, ensure_ascii=False, sort_keys=True): s for s in spos}
        return text, list(unique.values())


def write_duie(out, rng, sizes):
    with open(os.path.join(RESOURCES, "duie2_schema.json"), encoding="utf-8") as f:
        schema_lines = f.read()
    schema = {s["predicate"]: s for s in map(json.loads, schema_lines.splitlines())}
    _write_text(os.path.join(out, "schema.json"), schema_lines)
    maker = DuieSentenceMaker(HardPools(rng), schema)
    for name, n in zip(("train_data.json", "dev_data.json", "test1_data.json"), sizes):
        rows = []
        while len(rows) < n:
            text, spos = maker.sentence()
            if spos:
                rows.append({"text": text, "spo_list": spos})
        _write_lines(os.path.join(out, name), rows)


# ---------------------------------------------------------------- DuEE 1.0

# entity kind of a role, by the first pattern its name contains
ROLE_KINDS = [("时间", "time"), ("罢工人员", "workers"), ("拘捕者", "agency"), ("年龄", "age"), ("人数", "count"), ("金额", "money"), ("价格", "money"),
              ("幅度", "percent"), ("震级", "magnitude"), ("深度", "depth"), ("时长", "term"), ("刑期", "term"),
              ("轮次", "round"), ("地点", "place"), ("震中", "place"), ("赛事", "league"), ("活动名称", "event"),
              ("股票", "company"), ("产品", "product"), ("交易物", "product"), ("召回内容", "product"),
              ("物", "product"), ("影视", "film"), ("奖项", "award"), ("案件", "case"), ("法院", "court"),
              ("机构", "agency"), ("组织", "company"), ("公司", "company"), ("企业", "company"),
              ("方", "party"), ("胜者", "team"), ("败者", "team"), ("冠军", "team"), ("坍塌主体", "building"),
              ("袭击对象", "building")]


def role_kind(role):
    """The entity kind of a DuEE role: that of the first ROLE_KINDS pattern its name contains, else a person."""
    return next((k for pattern, k in ROLE_KINDS if pattern in role), "person")


# one clause per event type: the trigger word written out, roles as {role}; a role left out of a
# clause is simply not mentioned (as in the official data, where most events lack some roles)
EE_TEMPLATES = {
    "财经/交易-出售/收购": ["{时间}，{收购方}以{出售价格}[收购]{出售方}旗下{交易物}", "{出售方}将{交易物}[出售]给{收购方}"],
    "财经/交易-跌停": ["{时间}，{跌停股票}股价[跌停]", "受消息影响，{跌停股票}开盘即[跌停]"],
    "财经/交易-加息": ["{时间}，{加息机构}宣布[加息]{加息幅度}", "{加息机构}再次[加息]"],
    "财经/交易-降价": ["{时间}，{降价方}宣布{降价物}[降价]{降价幅度}", "{降价方}旗下{降价物}全线[降价]"],
    "财经/交易-降息": ["{时间}，{降息机构}宣布[降息]{降息幅度}", "{降息机构}意外[降息]"],
    "财经/交易-融资": ["{时间}，{融资方}完成{融资金额}{融资轮次}[融资]，由{领投方}领投，{跟投方}跟投",
                   "{融资方}宣布获得{领投方}领投的{融资轮次}[融资]"],
    "财经/交易-上市": ["{时间}，{上市企业}在{地点}[上市]，募资{融资金额}", "{上市企业}正式登陆{地点}证券交易所[上市]"],
    "财经/交易-涨价": ["{时间}，{涨价方}宣布{涨价物}[涨价]{涨价幅度}", "{涨价方}的{涨价物}再度[涨价]"],
    "财经/交易-涨停": ["{时间}，{涨停股票}强势[涨停]", "{涨停股票}午后[涨停]"],
    "产品行为-发布": ["{时间}，{发布方}[发布]了新款{发布产品}", "{发布方}正式[推出]{发布产品}"],
    "产品行为-获奖": ["{时间}，{获奖人}[获得]{颁奖机构}颁发的{奖项}", "{获奖人}[荣获]{奖项}"],
    "产品行为-上映": ["{时间}，{上映方}出品的{上映影视}正式[上映]", "{上映影视}将于{时间}[上映]"],
    "产品行为-下架": ["{时间}，{下架方}将{被下架方}的{下架产品}[下架]", "{下架产品}遭{下架方}[下架]"],
    "产品行为-召回": ["{时间}，{召回方}宣布[召回]{召回内容}", "{召回方}[召回]部分{召回内容}"],
    "交往-道歉": ["{时间}，{道歉者}向{道歉对象}[道歉]", "{道歉者}发文[致歉]，称对不起{道歉对象}"],
    "交往-点赞": ["{时间}，{点赞方}为{点赞对象}[点赞]", "{点赞对象}获{点赞方}[点赞]"],
    "交往-感谢": ["{时间}，{致谢人}发文[感谢]{被感谢人}", "{致谢人}特别[感谢]了{被感谢人}"],
    "交往-会见": ["{时间}，{会见主体}在{地点}[会见]了{会见对象}", "{会见主体}[会见]{会见对象}"],
    "交往-探班": ["{时间}，{探班主体}到片场[探班]{探班对象}", "{探班主体}[探班]{探班对象}"],
    "竞赛行为-夺冠": ["{时间}，{冠军}[夺得]{夺冠赛事}冠军", "{冠军}在{夺冠赛事}中[夺冠]"],
    "竞赛行为-晋级": ["{时间}，{晋级方}[晋级]{晋级赛事}决赛", "{晋级方}成功[晋级]{晋级赛事}八强"],
    "竞赛行为-禁赛": ["{时间}，{禁赛机构}宣布对{被禁赛人员}[禁赛]{禁赛时长}", "{被禁赛人员}被[禁赛]{禁赛时长}"],
    "竞赛行为-胜负": ["{时间}，在{赛事名称}中，{胜者}[击败]{败者}", "{胜者}以3比1[战胜]{败者}", "{败者}[不敌]{胜者}"],
    "竞赛行为-退赛": ["{时间}，{退赛方}宣布[退出]{退赛赛事}", "{退赛方}因伤[退赛]"],
    "竞赛行为-退役": ["{时间}，{退役者}宣布[退役]", "{退役者}正式[退役]"],
    "人生-产子/女": ["{时间}，{产子者}[诞下]{出生者}", "{产子者}[产下]一女{出生者}"],
    "人生-出轨": ["{时间}，{出轨方}被曝[出轨]{出轨对象}", "{出轨方}[出轨]{出轨对象}一事发酵"],
    "人生-订婚": ["{时间}，{订婚主体}宣布[订婚]", "{订婚主体}已于{时间}[订婚]"],
    "人生-分手": ["{时间}，{分手双方}宣布[分手]", "{分手双方}和平[分手]"],
    "人生-怀孕": ["{时间}，{怀孕者}被曝[怀孕]", "{怀孕者}已[怀孕]三个月"],
    "人生-婚礼": ["{时间}，{结婚双方}在{地点}举行[婚礼]，{参礼人员}到场祝福", "{结婚双方}的[婚礼]在{地点}举行"],
    "人生-结婚": ["{时间}，{结婚双方}宣布[结婚]", "{结婚双方}于{时间}登记[结婚]"],
    "人生-离婚": ["{时间}，{离婚双方}宣布[离婚]", "{离婚双方}[离婚]"],
    "人生-庆生": ["{时间}，{庆祝方}为{生日方}[庆祝]{生日方年龄}生日", "{生日方}迎来{生日方年龄}[生日]"],
    "人生-求婚": ["{时间}，{求婚者}向{求婚对象}[求婚]", "{求婚者}[求婚]{求婚对象}成功"],
    "人生-失联": ["{时间}，{失联者}在{地点}[失联]", "{失联者}已[失联]多日"],
    "人生-死亡": ["{时间}，{死者}在{地点}[去世]，享年{死者年龄}", "{死者}[病逝]，终年{死者年龄}"],
    "司法行为-罚款": ["{时间}，{执法机构}对{罚款对象}[罚款]{罚款金额}", "{罚款对象}被{执法机构}[罚款]{罚款金额}"],
    "司法行为-拘捕": ["{时间}，{拘捕者}依法[拘捕]{被拘捕者}", "{被拘捕者}被{拘捕者}[逮捕]"],
    "司法行为-举报": ["{时间}，{举报发起方}实名[举报]{举报对象}", "{举报对象}遭{举报发起方}[举报]"],
    "司法行为-开庭": ["{时间}，{开庭法院}[开庭]审理{开庭案件}", "{开庭案件}在{开庭法院}[开庭]"],
    "司法行为-立案": ["{时间}，{立案机构}对{立案对象}[立案]调查", "{立案对象}被{立案机构}[立案]"],
    "司法行为-起诉": ["{时间}，{原告}[起诉]{被告}", "{原告}将{被告}[告上法庭]"],
    "司法行为-入狱": ["{时间}，{入狱者}被[判处]有期徒刑{刑期}", "{入狱者}[入狱]{刑期}"],
    "司法行为-约谈": ["{时间}，{约谈发起方}[约谈]了{约谈对象}", "{约谈对象}被{约谈发起方}[约谈]"],
    "灾害/意外-爆炸": ["{时间}，{地点}发生[爆炸]，造成{死亡人数}死亡、{受伤人数}受伤", "{地点}一工厂[爆炸]"],
    "灾害/意外-车祸": ["{时间}，{地点}发生[车祸]，致{死亡人数}死亡，{受伤人数}受伤", "{地点}发生一起[车祸]"],
    "灾害/意外-地震": ["{时间}，{震中}发生{震级}[地震]，震源深度{震源深度}，造成{死亡人数}遇难、{受伤人数}受伤",
                   "{震中}发生{震级}[地震]"],
    "灾害/意外-洪灾": ["{时间}，{地点}遭遇[洪灾]，{死亡人数}死亡，{受伤人数}受伤", "{地点}[洪水]肆虐"],
    "灾害/意外-起火": ["{时间}，{地点}一居民楼[起火]，造成{死亡人数}死亡", "{地点}突发[大火]"],
    "灾害/意外-坍/垮塌": ["{时间}，{坍塌主体}发生[坍塌]，致{死亡人数}死亡、{受伤人数}受伤", "{坍塌主体}突然[垮塌]"],
    "灾害/意外-袭击": ["{时间}，{袭击者}在{地点}[袭击]了{袭击对象}，造成{死亡人数}死亡、{受伤人数}受伤",
                   "{袭击对象}遭{袭击者}[袭击]"],
    "灾害/意外-坠机": ["{时间}，一架客机在{地点}[坠毁]，{死亡人数}遇难", "{地点}发生[坠机]事故"],
    "组织关系-裁员": ["{时间}，{裁员方}宣布[裁员]{裁员人数}", "{裁员方}大规模[裁员]"],
    "组织关系-辞/离职": ["{时间}，{离职者}从{原所属组织}[离职]", "{原所属组织}高管{离职者}[辞职]"],
    "组织关系-加盟": ["{时间}，{加盟者}正式[加盟]{所加盟组织}", "{加盟者}[加盟]{所加盟组织}"],
    "组织关系-解雇": ["{时间}，{解雇方}[解雇]了{被解雇人员}", "{被解雇人员}遭{解雇方}[解雇]"],
    "组织关系-解散": ["{时间}，{解散方}宣布[解散]", "{解散方}正式[解散]"],
    "组织关系-解约": ["{时间}，{解约方}与{被解约方}[解约]", "{解约方}宣布和{被解约方}[解约]"],
    "组织关系-停职": ["{时间}，{所属组织}对{停职人员}[停职]调查", "{所属组织}员工{停职人员}被[停职]"],
    "组织关系-退出": ["{时间}，{退出方}宣布[退出]{原所属组织}", "{退出方}[退出]{原所属组织}"],
    "组织行为-罢工": ["{时间}，{所属组织}的{罢工人数}{罢工人员}举行[罢工]", "{所属组织}员工[罢工]"],
    "组织行为-闭幕": ["{时间}，{活动名称}在{地点}[闭幕]", "{活动名称}[闭幕]"],
    "组织行为-开幕": ["{时间}，{活动名称}在{地点}[开幕]", "{活动名称}隆重[开幕]"],
    "组织行为-游行": ["{时间}，{游行人数}{游行组织}成员在{地点}[游行]", "{游行组织}在{地点}组织[游行]"],
}

# events told together, sharing spans: placeholders name entities ({a}); an argument's value is one
# entity or several joined ("l+b": the entity l followed by b, so that l is nested in it); each event
# names its trigger by the index of a [marked] word
EE_SHARED = [
    ("{t}，{a}[击败]{b}，[夺得]{m}冠军", [("竞赛行为-胜负", 0, [("时间", "t"), ("胜者", "a"), ("败者", "b")]),
                                         ("竞赛行为-夺冠", 1, [("时间", "t"), ("冠军", "a"), ("夺冠赛事", "m")])]),
    ("{t}，{p}从{c}[离职]后[加盟]{d}", [("组织关系-辞/离职", 0, [("时间", "t"), ("离职者", "p"), ("原所属组织", "c")]),
                                       ("组织关系-加盟", 1, [("时间", "t"), ("加盟者", "p"), ("所加盟组织", "d")])]),
    ("{t}，{x}在{l}发生[车祸]，不幸[身亡]，年仅{y}", [("灾害/意外-车祸", 0, [("时间", "t"), ("地点", "l")]),
                                                    ("人生-死亡", 1, [("时间", "t"), ("地点", "l"), ("死者", "x"),
                                                                    ("死者年龄", "y")])]),
    ("{t}，{p}向{q}[求婚]成功，两人随即[订婚]", [("人生-求婚", 0, [("时间", "t"), ("求婚者", "p"), ("求婚对象", "q")]),
                                                 ("人生-订婚", 1, [("时间", "t"), ("订婚主体", "p"), ("订婚主体", "q")])]),
    ("{k}[拘捕]了{p}，{p}随后被[判]有期徒刑{y}", [("司法行为-拘捕", 0, [("拘捕者", "k"), ("被拘捕者", "p")]),
                                                 ("司法行为-入狱", 1, [("入狱者", "p"), ("刑期", "y")])]),
    ("{t}，{c}[裁员]{n}，并[解雇]了高管{p}", [("组织关系-裁员", 0, [("时间", "t"), ("裁员方", "c"), ("裁员人数", "n")]),
                                             ("组织关系-解雇", 1, [("时间", "t"), ("解雇方", "c"), ("被解雇人员", "p")])]),
    ("{t}，{c}在{l}[上市]当天即[涨停]", [("财经/交易-上市", 0, [("时间", "t"), ("上市企业", "c"), ("地点", "l")]),
                                         ("财经/交易-涨停", 1, [("时间", "t"), ("涨停股票", "c")])]),
    ("{t}，{l}{b}发生[爆炸]并[起火]，{n}受伤", [("灾害/意外-爆炸", 0, [("时间", "t"), ("地点", "l+b"), ("受伤人数", "n")]),
                                                ("灾害/意外-起火", 1, [("时间", "t"), ("地点", "l")])]),
    ("{l}{g}[开庭]审理{x}{h}，{x}曾于{t}在{l}[被捕]", [("司法行为-开庭", 0, [("开庭法院", "l+g"), ("开庭案件", "x+h")]),
                                                     ("司法行为-拘捕", 1, [("时间", "t"), ("被拘捕者", "x")])]),
]
# several events of one type in one sentence, sharing some arguments (in the official dev file 84 of 1,498
# sentences hold such events, and 4.7% of the arguments repeat in another event of their type); the
# last one shares its trigger too, which a trigger-linked encoding cannot tell apart
EE_SAME_TYPE = [
    ("{t}，在{m}中，{a}[击败]{b}，{c}[战胜]{d}",
     [("竞赛行为-胜负", 0, [("时间", "t"), ("赛事名称", "m"), ("胜者", "a"), ("败者", "b")]),
      ("竞赛行为-胜负", 1, [("时间", "t"), ("赛事名称", "m"), ("胜者", "c"), ("败者", "d")])]),
    ("{t}，{z}发生{s}[地震]，{w}随后也发生{r}[地震]",
     [("灾害/意外-地震", 0, [("时间", "t"), ("震中", "z"), ("震级", "s")]),
      ("灾害/意外-地震", 1, [("时间", "t"), ("震中", "w"), ("震级", "r")])]),
    ("{t}，{p}正式[加盟]{d}，{q}也[加盟]了{d}",
     [("组织关系-加盟", 0, [("时间", "t"), ("加盟者", "p"), ("所加盟组织", "d")]),
      ("组织关系-加盟", 1, [("时间", "t"), ("加盟者", "q"), ("所加盟组织", "d")])]),
    ("{t}，{a}和{b}宣布[离婚]，{c}和{d}也已[离婚]",
     [("人生-离婚", 0, [("时间", "t"), ("离婚双方", "a"), ("离婚双方", "b")]),
      ("人生-离婚", 1, [("时间", "t"), ("离婚双方", "c"), ("离婚双方", "d")])]),
    ("{t}，{c}在{l}[裁员]{n}，在{k}又[裁员]{x}",
     [("组织关系-裁员", 0, [("时间", "t"), ("裁员方", "c"), ("裁员人数", "n")]),
      ("组织关系-裁员", 1, [("时间", "t"), ("裁员方", "c"), ("裁员人数", "x")])]),
    ("{t}，{a}和{b}分别在{m}和{n}中[夺冠]",
     [("竞赛行为-夺冠", 0, [("时间", "t"), ("冠军", "a"), ("夺冠赛事", "m")]),
      ("竞赛行为-夺冠", 0, [("时间", "t"), ("冠军", "b"), ("夺冠赛事", "n")])]),
]
# the surface forms of each template's trigger, per event type: "a|b|c" is the group of the marked word a
# (and of b, c where a template marks them), most frequent first. Real news names one event many ways (the
# real DuEE train file: 3 trigger words for the median type, 12 and more for common ones, and a quarter of
# the test events with a trigger never seen with their type in training); the last third of a group is
# held out of the training file and written in dev and test only (HELD_OUT_RATE of their triggers)
EE_TRIGGER_FORMS = {
    "财经/交易-出售/收购": ["收购|并购|买下|竞得|购得", "出售|转让|卖出|出让|抛售"],
    "财经/交易-跌停": ["跌停|大跌|暴跌|闪崩|重挫"],
    "财经/交易-加息": ["加息|升息|上调利率|提高利率"],
    "财经/交易-降价": ["降价|让利|调低价格|下调售价|打折"],
    "财经/交易-降息": ["降息|降准|下调利率|调降利率"],
    "财经/交易-融资": ["融资|募资|筹资|获投"],
    "财经/交易-上市": ["上市|挂牌|敲钟|挂牌上市|登陆资本市场"],
    "财经/交易-涨价": ["涨价|提价|调涨|上调价格|提高售价"],
    "财经/交易-涨停": ["涨停|大涨|飙涨|暴涨"],
    "产品行为-发布": ["发布|推出|上线|亮相|首发|公布|发售"],
    "产品行为-获奖": ["获得|荣获|斩获|摘得|获颁"],
    "产品行为-上映": ["上映|公映|首映|热映|登陆院线"],
    "产品行为-下架": ["下架|撤下|下线|封禁"],
    "产品行为-召回": ["召回|回收|紧急召回"],
    "交往-道歉": ["道歉|致歉|认错|赔礼道歉"],
    "交往-点赞": ["点赞|称赞|赞扬|夸赞|力挺"],
    "交往-感谢": ["感谢|致谢|感恩|答谢"],
    "交往-会见": ["会见|会晤|接见|会谈"],
    "交往-探班": ["探班|探望|看望"],
    "竞赛行为-夺冠": ["夺得|获得|摘得|斩获|拿下", "夺冠|称王|问鼎|登顶|封王"],
    "竞赛行为-晋级": ["晋级|挺进|闯入|杀入"],
    "竞赛行为-禁赛": ["禁赛|停赛|禁止参赛|追加禁赛"],
    "竞赛行为-胜负": ["击败|战胜|打败|力克|击溃|横扫|完胜|险胜|逆转", "不敌|负于|输给|败给|惜败于"],
    "竞赛行为-退赛": ["退出|退赛|弃权|缺席"],
    "竞赛行为-退役": ["退役|挂靴|告别赛场|结束职业生涯"],
    "人生-产子/女": ["诞下|产下|生下|喜得|顺产"],
    "人生-出轨": ["出轨|劈腿|婚外情|偷腥"],
    "人生-订婚": ["订婚|定亲|订下婚约"],
    "人生-分手": ["分手|分开|恋情告终|告吹"],
    "人生-怀孕": ["怀孕|有孕|怀上|有喜"],
    "人生-婚礼": ["婚礼|婚宴|大婚|结婚典礼"],
    "人生-结婚": ["结婚|完婚|成婚|领证|喜结连理"],
    "人生-离婚": ["离婚|离异|婚变|协议离婚"],
    "人生-庆生": ["庆祝|庆贺|过|庆生", "生日|寿辰|诞辰"],
    "人生-求婚": ["求婚|表白|下跪求婚"],
    "人生-失联": ["失联|失踪|下落不明|走失"],
    "人生-死亡": ["去世|病逝|身亡|逝世|离世|辞世|遇难|过世"],
    "司法行为-罚款": ["罚款|处罚|罚没|开出罚单"],
    "司法行为-拘捕": ["拘捕|逮捕|抓获|刑拘|拘留|抓捕|批捕", "被捕|被抓|被拘|落网|被擒"],
    "司法行为-举报": ["举报|检举|实名举报|揭发"],
    "司法行为-开庭": ["开庭|公开审理|庭审|审理"],
    "司法行为-立案": ["立案|备案|受理"],
    "司法行为-起诉": ["起诉|状告|控告|起诉了", "告上法庭|诉至法院|告到法院|送上被告席"],
    "司法行为-入狱": ["判处|判|宣判|获判", "入狱|服刑|获刑|坐牢"],
    "司法行为-约谈": ["约谈|问询|约见|喊话"],
    "灾害/意外-爆炸": ["爆炸|爆燃|闪爆|连环爆炸"],
    "灾害/意外-车祸": ["车祸|交通事故|撞车|追尾|翻车"],
    "灾害/意外-地震": ["地震|强震|余震|震动"],
    "灾害/意外-洪灾": ["洪灾|洪涝|水灾|洪水", "洪水|洪峰|暴雨"],
    "灾害/意外-起火": ["起火|着火|失火|火灾", "大火|火情|火警"],
    "灾害/意外-坍/垮塌": ["坍塌|垮塌|倒塌|崩塌|塌陷|塌方"],
    "灾害/意外-袭击": ["袭击|攻击|突袭|偷袭|炸弹袭击"],
    "灾害/意外-坠机": ["坠毁|坠落|失事|坠海", "坠机|空难|飞机失事"],
    "组织关系-裁员": ["裁员|裁撤|裁掉|缩减人员|优化"],
    "组织关系-辞/离职": ["离职|离任|卸任|出走", "辞职|请辞|辞任|辞去职务"],
    "组织关系-加盟": ["加盟|加入|签约|转会至"],
    "组织关系-解雇": ["解雇|开除|辞退|炒鱿鱼"],
    "组织关系-解散": ["解散|散伙|解体|宣告解散"],
    "组织关系-解约": ["解约|终止合作|分道扬镳|解除合约"],
    "组织关系-停职": ["停职|停职检查|暂停职务|免职"],
    "组织关系-退出": ["退出|脱离|离开|宣布退出"],
    "组织行为-罢工": ["罢工|停工|怠工|集体罢工"],
    "组织行为-闭幕": ["闭幕|落幕|收官|谢幕"],
    "组织行为-开幕": ["开幕|揭幕|开展|启幕"],
    "组织行为-游行": ["游行|示威|集会|抗议"],
}
HELD_OUT_RATE = 0.3  # of the dev and test triggers: a form held out of the training file
# frames every event type shares: their words say that something happened, not what, so that (as in real news)
# the type must come from the trigger, not from a clause only that type is told in: an opening, the type's
# actor, a verb, the trigger, the one acted on (both roles of the type's first template), an ending
EE_FRAME_OPENINGS = ["{时间}，", "据悉，", "有消息称，", "{时间}消息，", "网传", "记者获悉，", "", "{时间}，据知情人士透露，"]
EE_FRAME_VERBS = ["正式", "已于{时间}", "将", "突然", "被曝", "宣布", "再次", "终于", "已经", "被指", "确认", "于{时间}",
                  "疑似", "公开"]  # between the actor and the trigger: no word a time argument could be
EE_FRAME_ENDINGS = ["", "", "，引发外界关注", "一事持续发酵", "，详情仍在调查中", "，消息一出引发热议"]
FRAME_RATE = 0.7  # of the single events: told in a shared frame instead of their type's own templates
VALUE_KINDS = {"time", "age", "count", "money", "percent", "magnitude", "depth", "term", "round"}  # never {a}
TYPE_ZIPF = 1.1  # event type k (in a seeded order) is drawn with weight 1 / (k + 1) ** TYPE_ZIPF: a long tail
EE_DISTRACTORS = ["据{m}报道", "记者{p}从现场获悉", "{t2}更新", "{p}对此不予置评", "{c}发言人{p}表示关注"]


class DueeSentenceMaker:
    """Sentences of events. held_out_rate: the share of triggers written in a form the training file never
    holds (0 for the training file)."""

    def __init__(self, pools, schema, same_type_rate=0.05, held_out_rate=0.0):
        self.pools, self.schema, self.same_type_rate, self.held_out_rate = pools, schema, same_type_rate, held_out_rate
        order = sorted(EE_TEMPLATES)
        random.Random(len(order)).shuffle(order)  # which types are frequent: the same in every split
        self.types, self.type_weights = order, [1 / (k + 1) ** TYPE_ZIPF for k in range(len(order))]

    def trigger(self, event_type, word):
        """A surface form of the trigger `word` of `event_type`: one of its group's training forms (the
        frequent first), or, at held_out_rate, one held out of the training file."""
        group = next(g.split("|") for g in EE_TRIGGER_FORMS[event_type] if word in g.split("|"))
        seen, held_out = group[:len(group) - len(group) // 3], group[len(group) - len(group) // 3:]
        r = self.pools.rng
        forms = held_out if held_out and r.random() < self.held_out_rate else seen
        return r.choices(forms, weights=[1 / (k + 1) for k in range(len(forms))])[0]

    def value(self, role):
        p, r = self.pools, self.pools.rng
        kind = role_kind(role)
        if kind == "party":  # 发布方, 收购方, 点赞方...: people or companies
            kind = "company" if r.random() < 0.6 else "person"
        makers = {
            "time": p.time, "age": lambda: p.unit("age"), "count": lambda: p.unit("count"), "money": p.money,
            "percent": p.percent, "magnitude": lambda: p.unit("magnitude"), "depth": lambda: p.unit("depth"),
            "term": lambda: p.unit("term"), "round": lambda: r.choice(["天使轮", "A轮", "B轮", "C轮", "Pre-A轮"]),
            "place": lambda: r.choice([p.region(), p.city(), p.region() + p.title()[:2] + "路"]),
            "league": p.league, "event": lambda: p.city() + r.choice(["国际电影节", "车展", "博览会", "马拉松"]),
            "company": p.company, "product": p.product, "film": lambda: "《" + p.title() + "》", "award": p.award,
            "case": lambda: p.person() + r.choice(["受贿案", "诈骗案", "故意伤害案"]),
            "court": lambda: p.region() + r.choice(["中级人民法院", "人民法院"]),
            "agency": lambda: p.region() + r.choice(["公安局", "市场监管局", "银保监局", "央行"]),
            "team": p.team, "building": lambda: p.city() + r.choice(["大桥", "体育馆", "商场", "火车站"]),
            "workers": lambda: r.choice(["工人", "司机", "员工", "教师", "护士"]), "person": p.person,
        }
        return makers[kind]()

    def framed(self, event_type):
        """A template of `event_type` in a shared frame (EE_FRAME_*), or None where its first template names
        no actor before its trigger (its first person, group or thing, else its place)."""
        own = EE_TEMPLATES[event_type][0]
        before, word, after = re.match(r"(.*?)\[([^\]]+)\](.*)", own).groups()
        kinds = {role: role_kind(role) for role in re.findall(r"\{([^}]+)\}", before)}
        actors = ([role for role, kind in kinds.items() if kind not in VALUE_KINDS | {"place", "league"}]
                  or [role for role, kind in kinds.items() if kind == "place"])
        if not actors:
            return None
        acted_on = re.match(r"了?\{([^}]+)\}", after)
        r = self.pools.rng
        opening = r.choice(EE_FRAME_OPENINGS)
        verb = r.choice([v for v in EE_FRAME_VERBS if "{时间}" not in v or "{时间}" not in opening])
        acted_on = "{" + acted_on.group(1) + "}" if acted_on else ""
        return opening + "{" + actors[0] + "}" + verb + f"[{word}]" + acted_on + r.choice(EE_FRAME_ENDINGS)

    def single(self, event_type):
        """(clause, [event]) of one event; values of roles that the clause does not mention are dropped."""
        r = self.pools.rng
        template = (r.random() < FRAME_RATE and self.framed(event_type)) or r.choice(EE_TEMPLATES[event_type])
        values = {role: self.value(role) for role in self.schema[event_type]}
        pair_roles = [r for r in ("结婚双方", "离婚双方", "分手双方", "订婚主体") if "{" + r + "}" in template]
        arguments = []
        if pair_roles:  # one role held by two people
            a, b = self.pools.person(), self.pools.person()
            template = template.replace("{" + pair_roles[0] + "}", f"{a}和{b}")
            arguments = [(pair_roles[0], a), (pair_roles[0], b)]
        text, triggers = render(template, values, lambda k, word: self.trigger(event_type, word))
        arguments += [(k, v) for k, v in values.items() if "{" + k + "}" in template]
        return text, [(event_type, triggers[0], arguments)]

    def together(self, templates):
        """(clause, [event]) of several events told in one clause, from EE_SHARED or EE_SAME_TYPE."""
        r = self.pools.rng
        template, events = r.choice(templates)
        names = {}
        for _, _, roles in events:
            for role, name in roles:
                if "+" not in name and name not in names:
                    names[name] = self.value(role)
        defaults = {"b": lambda: r.choice(["火车站", "化工厂", "商场", "仓库"]), "l": self.pools.region,
                    "k": self.pools.region, "g": lambda: r.choice(["中级人民法院", "人民法院"]),
                    "h": lambda: r.choice(["受贿案", "诈骗案", "故意伤害案"])}
        for name, make in defaults.items():  # the parts of joined values that no role names alone
            if "{" + name + "}" in template and name not in names:
                names[name] = make()
        type_of = {k: event_type for event_type, k, _ in events}
        text, triggers = render(template, names, lambda k, word: self.trigger(type_of[k], word))
        built = [(event_type, triggers[k], [(role, "".join(names[n] for n in name.split("+"))) for role, name in roles])
                 for event_type, k, roles in events]
        return text, built

    def sentence(self):
        """(text, [(event type, (trigger, start), [(role, argument)])])."""
        r = self.pools.rng
        clauses, n_events = [], 0
        n = r.choice([1, 1, 2, 2, 3])
        while n_events < n:
            draw = r.random()
            if draw < self.same_type_rate:
                clause = self.together(EE_SAME_TYPE)
            elif draw < self.same_type_rate + 0.08:
                clause = self.together(EE_SHARED)
            else:  # a type the sentence does not hold yet: events of one type come from EE_SAME_TYPE, at its rate
                used = {t for _, events in clauses for t, _, _ in events}
                types = [(t, w) for t, w in zip(self.types, self.type_weights) if t not in used]
                clause = self.single(r.choices([t for t, _ in types], weights=[w for _, w in types])[0])
            clauses.append(clause)
            n_events += len(clause[1])
        for _ in range(r.choice([0, 1, 1])):
            x = {"m": r.choice(MEDIA), "p": self.pools.person(), "t2": self.pools.time(), "c": self.pools.company()}
            clauses.insert(r.randrange(len(clauses) + 1), (r.choice(EE_DISTRACTORS).format(**x), []))
        text, events, offset = "", [], 0
        for k, (clause, clause_events) in enumerate(clauses):
            text += ("，" if k else "") + clause
            offset = len(text) - len(clause)
            events += [(t, (word, start + offset), arguments) for t, (word, start), arguments in clause_events]
        return text + "。", events


def render(template, values, trigger=lambda k, word: word):
    """(text, [(trigger, start)]): `template` formatted with `values`, its k-th [marked] word written as
    trigger(k, word)."""
    text, triggers = "", []
    for k, piece in enumerate(re.split(r"\[([^\]]+)\]", template)):
        if k % 2:
            piece = trigger(k // 2, piece)
            triggers.append((piece, len(text)))
            text += piece
        else:
            text += piece.format(**values)
    return text, triggers


def _duee_event_list(text, events):
    """The official event_list: every event with its trigger, every argument with its start (the first
    occurrence of its string)."""
    event_list = []
    for event_type, (trigger, trigger_start), arguments in events:
        args, seen = [], set()
        for role, value in arguments:
            if (role, value) in seen or value not in text:
                continue
            seen.add((role, value))
            args.append({"role": role, "argument": value, "argument_start_index": text.index(value), "alias": []})
        if args:
            event_list.append({"event_type": event_type, "trigger": trigger, "trigger_start_index": trigger_start,
                               "class": event_type.split("-")[0], "arguments": args})
    return event_list


def write_duee(out, rng, sizes):
    with open(os.path.join(RESOURCES, "duee1_schema.json"), encoding="utf-8") as f:
        schema_lines = f.read()
    schema = {}
    for line in schema_lines.splitlines():
        row = json.loads(line)
        schema[row["event_type"]] = [role["role"] for role in row["role_list"]]
    _write_text(os.path.join(out, "event_schema.json"), schema_lines)
    pools = HardPools(rng)
    for name, n in zip(("train.json", "dev.json", "test1.json"), sizes):
        maker = DueeSentenceMaker(pools, schema, held_out_rate=0 if name == "train.json" else HELD_OUT_RATE)
        rows = []
        for i in range(n):
            text, events = maker.sentence()
            rows.append({"text": text, "id": f"{name.split('.')[0]}-hard-{i:05d}",
                         "event_list": _duee_event_list(text, events)})
        _write_lines(os.path.join(out, name), rows)


# ---------------------------------------------------------------- DuReader_robust

# relation: (statement templates, question templates, answer maker); {e} the entity, {a} the answer
RC_FACTS = [
    ("capital", ["{e}的首都是{a}。", "{a}是{e}的首都，也是其最大城市。"], ["{e}的首都是哪里？", "{e}首都在哪个城市"],
     lambda p: p.rng.choice(CAPITALS)),
    ("founder", ["{e}由{a}于多年前创办。", "{e}的创始人是{a}。"], ["{e}是谁创办的？", "{e}创始人是谁"],
     lambda p: p.person()),
    ("founded", ["{e}成立于{a}。", "{e}创建于{a}，至今已有多年历史。"], ["{e}是什么时候成立的？", "{e}哪一年创建"],
     lambda p: p.year()),
    ("author", ["《{e}》的作者是{a}。", "{a}写下了《{e}》。"], ["《{e}》是谁写的？", "《{e}》作者是谁"],
     lambda p: p.person()),
    ("area", ["{e}总面积约为{a}。", "{e}的面积达到{a}。"], ["{e}面积多大？", "{e}的总面积是多少"],
     lambda p: p.unit("area")),
    ("born", ["{e}出生于{a}。", "{e}的家乡在{a}。"], ["{e}出生在哪里？", "{e}是哪里人"],
     lambda p: p.region()),
    ("product", ["{e}的主要产品是{a}。", "{e}主营{a}。"], ["{e}主要生产什么？", "{e}的主营产品是什么"],
     lambda p: p.product()),
    ("population", ["{e}的人口大约有{a}。", "{e}常住人口{a}。"], ["{e}有多少人？", "{e}人口多少"],
     lambda p: p.unit("people")),
    ("height", ["{e}海拔{a}。", "{e}的最高峰海拔达{a}。"], ["{e}海拔多高？", "{e}有多高"],
     lambda p: p.unit("height")),
    ("price", ["{e}的售价为{a}。", "{e}的官方定价是{a}。"], ["{e}多少钱？", "{e}售价多少"],
     lambda p: f"{p.rng.randint(99, 19999)}元"),
    ("reason", ["{e}之所以出名，是因为{a}。", "{e}受欢迎的原因是{a}。"], ["{e}为什么出名？", "{e}为什么受欢迎"],
     lambda p: p.rng.choice(["风景秀丽且交通便利", "历史悠久、文化底蕴深厚", "价格实惠而且质量可靠",
                             "它第一次把两种技术结合在一起", "当地人热情好客，美食众多"])),
    ("method", ["处理{e}的方法是{a}。", "遇到{e}时，应当{a}。"], ["{e}怎么办？", "{e}应该怎么处理"],
     lambda p: p.rng.choice(["先关闭电源再联系专业人员检修", "多喝温水并注意休息", "用湿毛巾捂住口鼻低姿撤离",
                             "及时就医，不要自行用药", "先备份数据然后恢复出厂设置"])),
]
RC_FILLERS = ["这里四季分明，风景优美。", "许多游客慕名而来。", "当地的美食种类繁多，远近闻名。", "近年来发展十分迅速。",
              "相关资料显示，情况基本稳定。", "专家认为仍需进一步研究。", "这一说法得到了广泛认可。",
              "每年都会举办各种文化活动。", "交通便利，设施完善。", "据统计，相关数据每年都会更新一次。",
              "不少网友在社交平台上分享了自己的经历。", "业内人士指出，这种情况并不少见。"]


def rc_entity(pools, relation):
    if relation == "author":
        return pools.title()[:3]
    if relation in ("product", "price"):
        return pools.company()
    if relation == "method":
        return pools.rng.choice(["电脑蓝屏", "手机进水", "家中燃气泄漏", "孩子发烧", "火灾被困", "路由器断网"])
    return pools.title()[:2] + pools.rng.choice(["", "国", "市", "山", "岛"])


def rc_paragraph(pools, pid, dev=False):
    """A context of several entities' facts (the near misses) and fillers; two questions on it."""
    r, p = pools.rng, pools
    relations = r.sample(RC_FACTS, r.randint(2, 4))
    sentences, questions = [], []
    for relation, statements, asks, answer in relations:
        entities = [rc_entity(p, relation) for _ in range(r.choice([1, 2, 2, 3]))]  # same relation, other entities
        for k, entity in enumerate(entities):
            a = answer(p)
            sentences.append(r.choice(statements).format(e=entity, a=a))
            if k == 0:
                questions.append((r.choice(asks).format(e=entity), a, relation))
    r.shuffle(sentences)
    long_context = r.random() < 0.5
    n_fill = r.randint(20, 60) if long_context else r.randint(0, 6)
    for _ in range(n_fill):
        sentences.insert(r.randrange(len(sentences) + 1), r.choice(RC_FILLERS))
    context = "".join(sentences)
    qas = []
    for k, (question, a, relation) in enumerate(r.sample(questions, min(2, len(questions)))):
        answers = [{"text": a, "answer_start": context.index(a)}]
        if dev:  # several gold answers: the answer and a shorter form of it
            short = a[:-1] if relation in ("founded", "area", "population", "height", "price") else a
            answers = [{"text": a, "answer_start": -1}, {"text": short, "answer_start": -1}]
        qas.append({"id": f"{pid}-{k}", "question": question, "answers": answers})
    return {"context": context, "qas": qas}


def write_dureader(out, rng, sizes):
    pools = HardPools(rng)
    for name, n in zip(("train.json", "dev.json", "test1.json"), sizes):
        paragraphs = [rc_paragraph(pools, f"{name.split('.')[0]}-hard-{i:05d}", dev=name == "dev.json")
                      for i in range(max(1, n // 2))]  # two questions per paragraph
        _write_text(os.path.join(out, name),
                    json.dumps({"data": [{"title": "", "paragraphs": paragraphs}]}, ensure_ascii=False))


# ---------------------------------------------------------------- files

WRITERS = {"reading_comprehension": write_dureader, "relation_extraction": write_duie,
           "event_extraction": write_duee}
SIZES = (750, 150, 150)  # sentences (questions for reading comprehension) of train, dev, test


def write_hard_data(out, seed=7, sizes=SIZES, tracks=tuple(WRITERS)):
    """Write the hard data sets under `out`/<track>; returns {track: directory}.

    The test files here keep their gold annotations, so they serve as a held-out
    set that the official scripts and common.metrics can score.
    """
    return write_tracks(out, {track: (WRITERS[track], seed * 1000 + i, sizes) for i, track in enumerate(tracks)})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sizes", type=int, nargs=3, default=list(SIZES), metavar=("TRAIN", "DEV", "TEST"))
    args = parser.parse_args(argv)
    for track, directory in write_hard_data(args.out, args.seed, tuple(args.sizes)).items():
        print(f"{track}: {directory}")


if __name__ == "__main__":
    main()
