Attribute VB_Name = "SOP_Ribbon"
' sop_xl: the S&OP ribbon's one callback.
'
' Every button of the S&OP tab (customUI14.xml) has onAction="SOP_OnAction" and a tag naming the
' Python macro to run: sop_xl.excel.ribbon.dispatch(tag) looks the tag up in MACROS, runs the
' step on this workbook, shows progress in the status bar and a plain-language message at the end.
' Source: sop_xl/excel/sources/vba/SOP_Ribbon.bas in the sop_xl repository (changes here are overwritten by
' the next build).
Option Explicit

Public Sub SOP_OnAction(control As IRibbonControl)
    RunPython "import sop_xl.excel.ribbon as r; r.dispatch('" & control.Tag & "')"
End Sub
