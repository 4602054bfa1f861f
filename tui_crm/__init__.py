"""tui-crm: a keyboard-driven terminal CRM over one encrypted SQLite file."""
