"""A 119 fire alert from a Hangzhou partner, in Chinese: what the alarms intake will mostly see."""

import datetime as dt

from linkduty_shared.cap import CapCircle, parse_cap
from tests.unit.cap.samples import HANGZHOU_FIRE

CST = dt.timezone(dt.timedelta(hours=8))


def test_chinese_fire_alert_parses():
    alert = parse_cap(HANGZHOU_FIRE.read_bytes())
    assert alert.identifier == "HZ119-20261123-081530-0007"
    assert alert.sent == dt.datetime(2026, 11, 23, 8, 15, 30, tzinfo=CST)
    assert (alert.scope, alert.restriction) == ("Restricted", "仅限联勤联动成员单位 (linked-duty members only)")
    assert alert.source == "杭州市消防救援支队指挥中心"
    assert alert.code == ("LinkDuty-119",)
    assert alert.incidents == ("HZ119-20261123-0815", "拱墅 武林 3幢")  # quoted because of its spaces

    info = alert.info_for()  # Chinese preferred, although the English info comes first
    assert info is alert.infos[1]
    assert info.language == "zh-CN"
    assert info.headline == "拱墅区武林街道某小区高层住宅火灾"
    assert info.categories == ("Fire", "Rescue")
    assert info.response_types == ("Evacuate", "Avoid")
    assert info.audience == "周边居民 & 物业"
    assert info.event_codes == (("119警情类型", "高层住宅火灾"),)
    assert info.onset == dt.datetime(2026, 11, 23, 8, 12, tzinfo=CST)
    assert "\n消防救援站已出警" in info.description
    assert info.parameters == (("独居老人", "2"),)
    (area,) = info.areas
    assert area.circles == (CapCircle(30.27, 120.15, 0.5),)
    assert area.geocodes == (("统计用区划代码", "330105"),)

    assert alert.first_point() == (30.27, 120.15)
    assert alert.info_for("en").headline.startswith("High-rise residential fire")
