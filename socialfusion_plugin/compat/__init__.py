"""Environment fixes that are not about LLaVA (those live in `socialfusion_plugin.host`)."""
