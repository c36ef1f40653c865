"""The finance report: one self-contained HTML page rendered from a run folder's files."""

from mmm.report.render import ReportInputError, render_report, roi_frame_from_summary, write_report

__all__ = ["ReportInputError", "render_report", "roi_frame_from_summary", "write_report"]
