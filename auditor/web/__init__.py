"""The review portal (vt-audit serve): directors answer their access review online."""
