"""One module per dashboard page; each has one `render()` function and runs it when Streamlit runs the file."""
