"""What a researcher opens: the report, the workbook and the exports."""
