"""Synthetic ID cards, bank cards and documents with their ground truth, for tests and benchmarks.

Nothing here is used by recognition. Cards are drawn with Pillow in the CJK fonts of the
Debian package ``fonts-noto-cjk`` at 10 px/mm (856x540 for an 85.6x54 mm card), laid out
like the front (人像面) of the second-generation resident ID card: grey-blue labels, black
values, the photo on the right. Printing positions jitter by a few pixels per card, as
printers and scanners do. Every draw comes from ``random.Random(seed)``, so a seed always
gives the same image and truth.

A *degraded* sample is the clean one photographed badly (``taas_ocr.camera``): placed on
a table, rotated by 3-8°, with two impairments drawn from sensor noise, blur, low
contrast, heavy JPEG compression and low resolution; a *stress* sample has all five.
"""

# Synthetic data: seeded, reproducible draws (not secrets), and Chinese text with its own
# full-width punctuation.
# ruff: noqa: S311, RUF001

from __future__ import annotations

import datetime as dt
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from taas_ocr import fields
from taas_ocr.camera import Degradation, Variant
from taas_ocr.fonts import cjk_font, mono_font

CARD_SIZE = (856, 540)

ADDRESS_LINES, ADDRESS_LINE_CHARS = 3, 12
LABEL_INK = (52, 96, 140)
VALUE_INK = (20, 20, 20)


# --------------------------------------------------------------------------- truth


@dataclass(frozen=True)
class IdCardTruth:
    """What is printed on an ID card front; ``birth_date`` is ``YYYY-MM-DD``."""

    name: str
    sex: str
    ethnicity: str
    birth_date: str
    address: str
    id_number: str


@dataclass(frozen=True)
class BankCardTruth:
    """The card number (Luhn-valid, 16-19 digits) and the issuing bank's name."""

    number: str
    bank: str


@dataclass(frozen=True)
class DocumentTruth:
    """The document's lines, top to bottom."""

    lines: tuple[str, ...]


TruthT = TypeVar("TruthT", IdCardTruth, BankCardTruth, DocumentTruth)


@dataclass(frozen=True)
class Sample(Generic[TruthT]):
    """A rendered image (RGB) and what a perfect reader would return for it."""

    image: Image.Image
    truth: TruthT
    degradation: Degradation | None = None
    """How the image was degraded (None for a clean sample)."""

    def bgr(self) -> npt.NDArray[np.uint8]:
        """The image as decoded BGR pixels: what recognition takes."""
        return np.ascontiguousarray(np.asarray(self.image.convert("RGB"), np.uint8)[:, :, ::-1])

    def encoded(self, fmt: str = "PNG") -> bytes:
        """The image as a file's bytes (PNG, or JPEG at quality 90)."""
        out = io.BytesIO()
        self.image.save(out, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
        return out.getvalue()


# --------------------------------------------------------------------------- vocabularies

SURNAMES = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
)  # fmt: skip
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官")
GIVEN_CHARS = (
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "兰", "建", "国", "文", "红", "志", "海",
    "晓", "云", "鹏", "宇", "婷", "雪", "琳", "浩", "俊", "嘉", "欣", "子", "梓", "涵", "思", "雨",
)  # fmt: skip
# (administrative division code, printed prefix) pairs: province, city, district.
DIVISIONS = (
    ("110105", "北京市朝阳区"),
    ("310115", "上海市浦东新区"),
    ("440106", "广东省广州市天河区"),
    ("330106", "浙江省杭州市西湖区"),
    ("510107", "四川省成都市武侯区"),
    ("320106", "江苏省南京市鼓楼区"),
    ("420111", "湖北省武汉市洪山区"),
    ("370102", "山东省济南市历下区"),
    ("410105", "河南省郑州市金水区"),
    ("610113", "陕西省西安市雁塔区"),
    ("350203", "福建省厦门市思明区"),
    ("430104", "湖南省长沙市岳麓区"),
    ("530102", "云南省昆明市五华区"),
    ("650102", "新疆维吾尔自治区乌鲁木齐市天山区"),
)
STREETS = (
    "人民路", "解放路", "中山路", "建设路", "和平街", "新华路", "朝阳路", "文化路", "长江路",
    "黄河路", "青年路", "光明街", "胜利路", "幸福路", "东风路", "南京路",
)  # fmt: skip
ESTATES = ("阳光小区", "锦绣花园", "翠湖苑", "金色家园", "华府名都", "绿地新城", "滨江公寓")
BANKS = ("东方示例银行", "江南测试银行", "北方样本商业银行", "蓝海演示银行", "云山农村商业银行")
HOLDERS = ("ZHANG WEI", "LI NA", "WANG FANG", "LIU YANG", "CHEN JIE", "ZHAO LEI", "HUANG MIN")
DOCUMENT_TITLES = ("贷款申请受理通知书", "账户变更确认函", "个人征信授权书", "对账单说明")
DOCUMENT_PHRASES = (
    "本行已于{date}收到您提交的申请材料。",
    "申请金额为人民币{amount}元，期限{months}个月。",
    "请于{days}个工作日内携带身份证原件到网点办理。",
    "客户编号：{code}，经办人：{name}。",
    "如有疑问请致电客服热线95{phone}。",
    "Account No. {account} was updated on {date}.",
    "年利率为{rate}%，按月等额本息还款。",
    "本通知一式两份，双方各执一份，具有同等效力。",
    "Reference {code}: documents received, review in progress.",
    "贷款用途：购置住房，抵押物位于{street}{number}号。",
)


def _name(rng: random.Random) -> str:
    surname = rng.choice(COMPOUND_SURNAMES) if rng.random() < 0.08 else rng.choice(SURNAMES)
    return surname + "".join(rng.choices(GIVEN_CHARS, k=rng.choice((1, 2, 2))))


def _address(rng: random.Random) -> tuple[str, str]:
    code, prefix = rng.choice(DIVISIONS)
    street = f"{rng.choice(STREETS)}{rng.randint(1, 399)}号"
    flat = (
        f"{rng.choice(ESTATES)}{rng.randint(1, 30)}栋"
        f"{rng.randint(1, 6)}单元{rng.randint(1, 28)}0{rng.randint(1, 4)}室"
    )
    address = prefix + street
    if rng.random() < 0.6 and len(address + flat) <= ADDRESS_LINES * ADDRESS_LINE_CHARS:
        address += flat
    return code, address


def _id_number(rng: random.Random, code: str, birth: dt.date, sex: str) -> str:
    sequence = rng.randint(0, 99) * 10
    odd = rng.randrange(1, 10, 2)
    sequence += odd if sex == fields.SEXES[0] else odd - 1
    body = f"{code}{birth:%Y%m%d}{sequence:03d}"
    return body + fields.id_check_char(body)


def random_id_card_truth(rng: random.Random) -> IdCardTruth:
    """A plausible person: the ID number agrees with the address, birth date and sex."""
    sex = rng.choice(fields.SEXES)
    # Mostly 汉, as in the population, but every card draws from all 56 often enough.
    ethnicity = "汉" if rng.random() < 0.6 else rng.choice(fields.ETHNICITIES)
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 55 * 365))
    code, address = _address(rng)
    return IdCardTruth(
        name=_name(rng),
        sex=sex,
        ethnicity=ethnicity,
        birth_date=birth.isoformat(),
        address=address,
        id_number=_id_number(rng, code, birth, sex),
    )


def random_card_number(rng: random.Random) -> str:
    """A UnionPay-style (62…) Luhn-valid number of 16 or 19 digits."""
    length = rng.choice((16, 16, 19))
    body = "62" + "".join(rng.choices("0123456789", k=length - 3))
    return body + fields.luhn_check_digit(body)


# --------------------------------------------------------------------------- drawing


def _background(rng: random.Random, size: tuple[int, int], tint: Sequence[int]) -> Image.Image:
    """A pale security-print background: a soft gradient with faint wavy lines."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.array(tint, dtype=np.float32)
    shade = 1.0 - 0.06 * (x / width) - 0.04 * (y / height)
    image = base[None, None, :] * shade[..., None]
    phase = rng.uniform(0, 6.28)
    waves = np.sin(x / 23.0 + 4 * np.sin(y / 41.0 + phase)) > 0.985
    image[waves] -= 14
    return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), "RGB")


def _jitter(rng: random.Random, xy: tuple[int, int], pixels: int = 4) -> tuple[int, int]:
    return xy[0] + rng.randint(-pixels, pixels), xy[1] + rng.randint(-pixels, pixels)


def _photo(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """A grey head-and-shoulders silhouette where the card's photo is."""
    grey = rng.randint(150, 185)
    x0, y0 = 590, 70
    draw.ellipse((x0 + 55, y0 + 40, x0 + 165, y0 + 175), fill=(grey, grey, grey + 5))
    draw.pieslice((x0 + 5, y0 + 165, x0 + 215, y0 + 385), 180, 360, fill=(grey, grey, grey + 5))


def _wrap(text: str, per_line: int) -> list[str]:
    return [text[i : i + per_line] for i in range(0, len(text), per_line)]


def render_id_card(truth: IdCardTruth, rng: random.Random) -> Image.Image:
    """The card front for ``truth`` at 856x540."""
    card = _background(rng, CARD_SIZE, (236, 240, 238))
    draw = ImageDraw.Draw(card)
    label, value = cjk_font(24), cjk_font(rng.choice((29, 30, 31)))
    year, month, day = (int(part) for part in truth.birth_date.split("-"))
    printed = [
        ((60, 62), "姓  名", (160, 58), truth.name),
        ((60, 128), "性  别", (160, 124), truth.sex),
        ((280, 128), "民  族", (370, 124), truth.ethnicity),
        ((60, 194), "出  生", (160, 190), None),
    ]
    for label_xy, label_text, value_xy, text in printed:
        draw.text(_jitter(rng, label_xy, 2), label_text, font=label, fill=LABEL_INK)
        if text is not None:
            draw.text(_jitter(rng, value_xy), text, font=value, fill=VALUE_INK)
    x, y = _jitter(rng, (160, 190))
    for number, unit in ((str(year), "年"), (str(month), "月"), (str(day), "日")):
        draw.text((x, y), number, font=value, fill=VALUE_INK)
        x += round(draw.textlength(number, font=value)) + 10
        draw.text((x, y + 4), unit, font=label, fill=LABEL_INK)
        x += round(draw.textlength(unit, font=label)) + 18
    draw.text(_jitter(rng, (60, 260), 2), "住  址", font=label, fill=LABEL_INK)
    x, y = _jitter(rng, (160, 256))
    lines = _wrap(truth.address, ADDRESS_LINE_CHARS)
    if len(lines) > ADDRESS_LINES:
        raise ValueError(f"the address does not fit the card's {ADDRESS_LINES} lines")
    for row, line in enumerate(lines):
        draw.text((x, y + row * 42), line, font=value, fill=VALUE_INK)
    draw.text(_jitter(rng, (60, 452), 2), "公民身份号码", font=label, fill=LABEL_INK)
    x, y = _jitter(rng, (250, 444))
    draw.text((x, y), truth.id_number, font=cjk_font(34), fill=VALUE_INK)
    _photo(draw, rng)
    return card


def render_bank_card(truth: BankCardTruth, rng: random.Random) -> Image.Image:
    """A bank card front: bank name, chip, embossed grouped number, expiry and holder."""
    dark = rng.random() < 0.6
    tint = rng.choice(((30, 60, 120), (20, 90, 80), (90, 30, 40))) if dark else (215, 190, 120)
    card = _background(rng, CARD_SIZE, tint)
    draw = ImageDraw.Draw(card)
    ink = (235, 235, 225) if dark else (40, 35, 30)
    draw.text(_jitter(rng, (60, 40)), truth.bank, font=cjk_font(38, bold=True), fill=ink)
    draw.rounded_rectangle((90, 180, 190, 255), radius=12, fill=(205, 175, 95))
    draw.line((90, 218, 190, 218), fill=(160, 130, 60), width=2)
    groups = " ".join(truth.number[i : i + 4] for i in range(0, len(truth.number), 4))
    x, y = _jitter(rng, (70 if len(truth.number) > 16 else 90, 305))
    size = 46 if len(truth.number) > 16 else 52
    shadow = (0, 0, 0) if dark else (250, 245, 230)
    draw.text((x + 2, y + 2), groups, font=mono_font(size), fill=shadow)
    draw.text((x, y), groups, font=mono_font(size), fill=ink)
    expiry = f"{rng.randint(1, 12):02d}/{rng.randint(26, 35)}"
    draw.text(_jitter(rng, (330, 395)), "VALID THRU " + expiry, font=mono_font(24), fill=ink)
    draw.text(_jitter(rng, (90, 450)), rng.choice(HOLDERS), font=mono_font(30), fill=ink)
    draw.text((650, 440), "银联", font=cjk_font(40, bold=True), fill=ink)
    return card


def _document_line(rng: random.Random) -> str:
    return rng.choice(DOCUMENT_PHRASES).format(
        date=f"{rng.randint(2020, 2025)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日",
        amount=f"{rng.randint(1, 90) * 10000:,}",
        months=rng.choice((12, 24, 36, 60, 120)),
        days=rng.randint(3, 15),
        code=f"TA{rng.randint(10**7, 10**8 - 1)}",
        name=_name(rng),
        phone=rng.randint(100, 999),
        account=f"{rng.randint(10**11, 10**12 - 1)}",
        rate=f"{rng.uniform(2.8, 6.5):.2f}",
        street=rng.choice(STREETS),
        number=rng.randint(1, 399),
    )


def render_document(truth: DocumentTruth, rng: random.Random) -> Image.Image:
    """A page of ``truth.lines``: the first as a bold title, the rest as body text."""
    height = 160 + 48 * len(truth.lines)
    page = Image.new("RGB", (1000, height), (250, 250, 247))
    draw = ImageDraw.Draw(page)
    title = cjk_font(36, bold=True)
    width = draw.textlength(truth.lines[0], font=title)
    draw.text(((1000 - width) / 2, 50), truth.lines[0], font=title, fill=VALUE_INK)
    for row, line in enumerate(truth.lines[1:]):
        draw.text((70, 130 + 48 * row), line, font=cjk_font(26), fill=VALUE_INK)
    return page


# --------------------------------------------------------------------------- samples


def _finish(
    clean: Sample[TruthT], variant: Variant, rng: random.Random, on_table: bool = True
) -> Sample[TruthT]:
    degradation = Degradation.for_variant(variant, rng, on_table)
    if degradation is None:
        return clean
    return Sample(degradation.apply(clean.image, rng), clean.truth, degradation)


def _id_card_draw(seed: int) -> tuple[IdCardTruth, random.Random]:
    rng = random.Random(f"id-card:{seed}")
    return random_id_card_truth(rng), rng


def _bank_card_draw(seed: int) -> tuple[BankCardTruth, random.Random]:
    rng = random.Random(f"bank-card:{seed}")
    return BankCardTruth(number=random_card_number(rng), bank=rng.choice(BANKS)), rng


def id_card_truth(seed: int) -> IdCardTruth:
    """The truth of ``id_card(seed)`` without rendering it (no fonts needed)."""
    return _id_card_draw(seed)[0]


def bank_card_truth(seed: int) -> BankCardTruth:
    """The truth of ``bank_card(seed)`` without rendering it."""
    return _bank_card_draw(seed)[0]


def id_card(seed: int, variant: Variant = "clean") -> Sample[IdCardTruth]:
    """The ID card front of ``seed`` as a ``variant`` (clean scan, degraded or stress photo)."""
    truth, rng = _id_card_draw(seed)
    return _finish(Sample(render_id_card(truth, rng), truth), variant, rng)


def bank_card(seed: int, variant: Variant = "clean") -> Sample[BankCardTruth]:
    """The bank card of ``seed`` as a ``variant``."""
    truth, rng = _bank_card_draw(seed)
    return _finish(Sample(render_bank_card(truth, rng), truth), variant, rng)


def document(seed: int, variant: Variant = "clean") -> Sample[DocumentTruth]:
    """A short notice (title and 5-8 lines) of ``seed`` as a ``variant`` (a scan: no table)."""
    rng = random.Random(f"document:{seed}")
    lines = [rng.choice(DOCUMENT_TITLES)]
    lines += [_document_line(rng) for _ in range(rng.randint(5, 8))]
    truth = DocumentTruth(lines=tuple(lines))
    return _finish(Sample(render_document(truth, rng), truth), variant, rng, on_table=False)
