-- JIT compilation costs seconds on these one-off statements and saves nothing.
SELECT set_config('jit', 'off', true)
