"""TensorBoard plugins (backends) for the two tabs. No torch here, ever."""
