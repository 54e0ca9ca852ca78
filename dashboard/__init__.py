"""The Streamlit operations dashboard: `streamlit run dashboard/app.py`; users with `python -m dashboard.users`."""
