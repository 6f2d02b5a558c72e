"""Income generation service (generación de ingresos, issue 14). So far: the pure
domain of the Fluye action plan and its financial model."""
