import CBLAS
print(String(cString: openblas_get_corename()), openblas_get_num_threads())
