"""Charts as a reader sees them: Korean pictures in Korean on a machine with no Hangul font,
titles that say what is shown, legends clear of the bars, money and periods as the message
words them, and English pictures as before."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal

import matplotlib
import pytest
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.ft2font import FT2Font
from matplotlib.image import imread
from matplotlib.text import Text

from cli.console import ConsoleSurface
from domain.metrics import Board, BoardStage, ForecastRow, StageStat
from i18n import fmt
from views import charts

HANGUL = re.compile(r"[가-힣]")
KOREAN_STAGES = ["리드 발굴", "자격 확인", "미팅", "제안서 발송", "협상"]


def board(names=KOREAN_STAGES, pipeline="영업 파이프라인") -> Board:
    counts, stalled = [12, 9, 6, 4, 2], [3, 1, 2, 0, 1]
    amounts = [120_000_000, 95_000_000, 60_000_000, 38_000_000, 25_000_000]
    stages = tuple(
        BoardStage(
            stage_id=i,
            name=name,
            position=i,
            probability=20 * i,
            stall_days=7,
            count=counts[i - 1],
            amount=Decimal(amounts[i - 1]),
            weighted=Decimal(amounts[i - 1] * 20 * i // 100),
            stalled=stalled[i - 1],
        )
        for i, name in enumerate(names, 1)
    )
    return Board(1, pipeline, datetime(2026, 12, 1, tzinfo=UTC), stages)


def forecast_rows(by="month") -> list[ForecastRow]:
    if by == "quarter":
        return [
            ForecastRow("2026-Q3", date(2026, 7, 1), 3, Decimal(150_000_000), Decimal(60_000_000)),
            ForecastRow("2026-Q4", date(2026, 10, 1), 4, Decimal(200_000_000), Decimal(80_000_000)),
        ]
    months = [
        ForecastRow(
            f"2026-{m:02d}", date(2026, m, 1), 3, Decimal(m * 10**7), Decimal(m * 4 * 10**6)
        )
        for m in range(10, 13)
    ]
    return [*months, ForecastRow("", None, 2, Decimal(5_000_000), Decimal(1_000_000))]


def funnel_stages(names=KOREAN_STAGES) -> list[StageStat]:
    entered, progressed = [40, 30, 20, 10, 5], [30, 20, 10, 5, 1]
    return [
        StageStat(
            stage_id=i,
            pipeline_id=1,
            name=name,
            position=i,
            entered=entered[i - 1],
            progressed=progressed[i - 1],
            conversion=Decimal(progressed[i - 1]) / Decimal(entered[i - 1]),
        )
        for i, name in enumerate(names, 1)
    ]


def drawn(fig) -> bytes:
    """The PNG, drawn with every warning an error (a missing glyph warns: a tofu box)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(buf, format="png")
    return buf.getvalue()


def texts(fig) -> list[Text]:
    return [a for a in fig.findobj(Text) if a.get_visible() and a.get_text().strip()]


def strings(fig) -> list[str]:
    return [a.get_text() for a in texts(fig)]


def font_file(artist: Text) -> str:
    return font_manager.findfont(artist.get_fontproperties())


def assert_png(content: bytes):
    assert content.startswith(b"\x89PNG\r\n\x1a\n")
    pixels = imread(io.BytesIO(content), format="png")
    assert pixels.shape[0] > 200 and pixels.shape[1] > 400


def overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.fixture
def no_hangul_font(monkeypatch):
    """A machine without the bundled font and without any system Hangul font."""
    monkeypatch.setattr(charts, "_bundled_font", lambda: None)
    monkeypatch.setattr(charts, "HANGUL_FONTS", ())
    charts.chart_font.cache_clear()
    yield
    charts.chart_font.cache_clear()


# --- the bundled font -----------------------------------------------------------------------


def test_the_hangul_font_comes_with_the_python_dependencies():
    font = charts.chart_font()
    assert font.hangul == "Noto Sans KR"
    assert font.path.endswith("pylopdf_fonts_ko/NotoSansKR-Regular.otf")
    assert any(f.fname == font.path for f in font_manager.fontManager.ttflist)  # registered


def test_a_korean_board_is_drawn_in_korean_with_the_bundled_font():
    fig = charts.board_figure(board(), "ko", "KRW", period="2026년 11월 23일 – 2026년 11월 29일")
    assert_png(drawn(fig))
    shown = strings(fig)
    for name in KOREAN_STAGES:
        assert name in shown
    assert "단계별 진행 중인 딜: 영업 파이프라인\n2026년 11월 23일 – 2026년 11월 29일" in shown
    assert {"딜", "정체", "금액", "예상 매출"} <= set(shown)  # the legend, in Korean
    assert not [s for s in shown if re.search(r"Stage \d|#\d|Pipeline", s)]
    bundled = charts.chart_font().path
    charmap = set(FT2Font(bundled).get_charmap())
    for artist in texts(fig):
        if HANGUL.search(artist.get_text()):
            assert font_file(artist) == bundled, artist.get_text()
            missing = [
                ch for ch in artist.get_text() if HANGUL.match(ch) and ord(ch) not in charmap
            ]
            assert missing == []


def test_every_korean_chart_decodes_and_names_stages_in_korean():
    pictures = [
        charts.board_png(board(), "ko", "KRW"),
        charts.forecast_png(forecast_rows(), "ko", "KRW", "month"),
        charts.funnel_png(funnel_stages(), "ko"),
    ]
    for png in pictures:
        assert_png(png)
    fig = charts.funnel_figure(funnel_stages(), "ko")
    drawn(fig)
    assert set(KOREAN_STAGES) <= set(strings(fig))


def test_names_lose_only_what_no_font_can_draw():
    fig = charts.board_figure(board(names=["리드 🔥", "미팅", "🔥", "제안", "협상"]), "ko")
    drawn(fig)  # no missing-glyph warning
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["리드", "미팅", "#3", "제안", "협상"]


def test_drawing_changes_no_global_matplotlib_settings():
    before = dict(matplotlib.rcParams)
    drawn(charts.board_figure(board(), "ko"))
    drawn(charts.forecast_figure(forecast_rows(), "en", "USD"))
    assert dict(matplotlib.rcParams) == before


def test_importing_the_chart_module_loads_no_matplotlib():
    code = "import sys, views.charts; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_charts_drawn_at_once_in_several_threads_match_one_at_a_time():
    jobs = [
        lambda: charts.board_png(board(), "ko", "KRW"),
        lambda: charts.board_png(board(names=["Contact", "Qualification"] * 2 + ["Demo"]), "en"),
        lambda: charts.funnel_png(funnel_stages(), "ko", owner="김민수"),
        lambda: charts.forecast_png(forecast_rows("quarter"), "en", "USD", "quarter"),
    ]
    alone = [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda job: job(), jobs * 2))
    assert together == alone * 2


# --- titles, periods, money, legends ---------------------------------------------------------


def test_titles_name_the_pipeline_the_rep_and_the_period():
    forecast = charts.forecast_figure(forecast_rows(), "ko", "KRW", "month", name="영업 파이프라인")
    funnel = charts.funnel_figure(
        funnel_stages(),
        "ko",
        name="영업 파이프라인",
        owner="김민수",
        period="최근 90일: 2026년 9월 2일 – 2026년 12월 1일",
    )
    assert forecast.get_suptitle() == "월별 매출 예측: 영업 파이프라인"
    assert funnel.get_suptitle().splitlines() == [
        "단계별 전환: 각 단계에 들어온 딜과 다음 단계로 넘어간 딜",
        "영업 파이프라인 · 담당자: 김민수 · 최근 90일: 2026년 9월 2일 – 2026년 12월 1일",
    ]
    english = charts.funnel_figure(funnel_stages(), "en", name="Sales", owner="Kim", period="Q4")
    assert english.get_suptitle().splitlines()[1] == "Sales · Owner: Kim · Q4"


@pytest.mark.parametrize(
    ("locale", "by", "expected"),
    [
        ("ko", "month", ["2026년 10월", "2026년 11월", "2026년 12월", "마감일 없음"]),
        ("en", "month", ["Oct 2026", "Nov 2026", "Dec 2026", "No close date"]),
        ("ko", "quarter", ["2026년 3분기", "2026년 4분기"]),
        ("en", "quarter", ["Q3 2026", "Q4 2026"]),
    ],
)
def test_forecast_periods_read_as_in_the_message(locale, by, expected):
    fig = charts.forecast_figure(forecast_rows(by), locale, "KRW", by)
    drawn(fig)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == expected


def test_korean_money_on_the_axes_is_in_man_and_eok():
    fig = charts.forecast_figure(forecast_rows(), "ko", "KRW", "month")
    drawn(fig)
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels() if t.get_text()]
    assert ticks[0] == "0원"
    assert ticks and all(t.endswith("원") and ("만" in t or "억" in t) for t in ticks[1:])
    for value in (20_000_000, 150_000_000, 3_795_000):
        assert charts.axis_money(value, "KRW", "ko") == fmt.money(Decimal(value), "KRW", "ko")
    assert charts.axis_money(150_000_000, "KRW", "ko") == "1억 5천만원"
    assert charts.axis_money(3_800_000, "KRW", "en") == "₩3.8M"
    assert charts.axis_money(12_000, "USD", "ko") == "$12K"


@pytest.mark.parametrize("locale", ["ko", "en"])
@pytest.mark.parametrize("chart", ["board", "forecast", "funnel"])
def test_legends_cover_no_bar_and_no_title(chart, locale):
    fig = {
        "board": lambda: charts.board_figure(board(), locale, period="2026-11-23 – 2026-11-29"),
        "forecast": lambda: charts.forecast_figure(forecast_rows(), locale, name="Sales"),
        "funnel": lambda: charts.funnel_figure(funnel_stages(), locale, owner="Kim", period="Q4"),
    }[chart]()
    canvas = FigureCanvasAgg(fig)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        canvas.draw()
    renderer = canvas.get_renderer()
    [legend] = fig.legends
    box = legend.get_window_extent(renderer)
    bars = [p.get_window_extent(renderer) for ax in fig.axes for p in ax.patches]
    assert bars and not [b for b in bars if overlaps(box, b)]
    assert not [ax for ax in fig.axes if overlaps(box, ax.get_window_extent(renderer))]
    assert not overlaps(box, fig._suptitle.get_window_extent(renderer))
    figure_box = fig.bbox
    assert figure_box.x0 <= box.x0 and box.x1 <= figure_box.x1 and box.y0 >= figure_box.y0


# --- English, and a machine with no Hangul font at all ----------------------------------------


def test_english_charts_keep_their_words_and_font():
    fig = charts.board_figure(
        board(
            names=["Contact", "Qualification", "Meeting", "Proposal", "Negotiation"],
            pipeline="Sales",
        ),
        "en",
    )
    drawn(fig)
    shown = strings(fig)
    assert "Open deals by stage: Sales" in shown
    assert {"Deals", "Stalled", "Amount", "Expected revenue", "Qualification", "₩40M"} <= set(shown)
    dejavu = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))
    assert {font_file(a) for a in texts(fig)} == {dejavu}


def test_english_charts_still_draw_korean_stage_names():
    fig = charts.board_figure(board(), "en")
    drawn(fig)
    assert set(KOREAN_STAGES) <= set(strings(fig))
    assert "Open deals by stage: 영업 파이프라인" in strings(fig)


def test_the_positional_calls_of_stored_chart_specs_still_work():
    assert_png(charts.board_png(board(), "ko", "KRW"))
    assert_png(charts.forecast_png(forecast_rows("quarter"), "ko", "KRW", "quarter"))
    assert_png(charts.funnel_png(funnel_stages(), "ko"))


def test_without_any_hangul_font_korean_charts_fall_back_to_english(no_hangul_font):
    assert charts.hangul_font() is None
    assert charts.chart_locale("ko") == "en"
    fig = charts.board_figure(board(), "ko", period="2026년 11월")
    drawn(fig)  # no tofu boxes
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["#1", "#2", "#3", "#4", "#5"]
    assert fig.get_suptitle() == "Open deals by stage: Pipeline"  # the Korean period is left out


# --- where the console saves a chart -----------------------------------------------------------


def test_the_console_never_overwrites_an_earlier_chart():
    out = io.StringIO()
    surface = ConsoleSurface(out, "en")
    surface.upload("C1", None, "funnel.png", b"first", "Funnel")
    surface.upload("C1", None, "funnel.png", b"second", "Funnel")
    surface.upload("C1", None, "../../etc/funnel.png", b"third", "Funnel")
    paths = re.findall(r"(/\S+\.png)", out.getvalue())
    assert len(set(paths)) == 3
    from pathlib import Path

    try:
        assert [Path(p).read_bytes() for p in paths] == [b"first", b"second", b"third"]
        assert all(Path(p).name.startswith("salesbot-funnel-") for p in paths)
        assert all(Path(p).parent == Path(paths[0]).parent for p in paths)  # not ../../etc
    finally:
        for p in paths:
            Path(p).unlink(missing_ok=True)
