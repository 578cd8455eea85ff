import CMPI
var p: Int32 = 0
MPI_Init_thread(nil, nil, mpivae_thread_funneled(), &p)
var r: Int32 = 0; MPI_Comm_rank(mpivae_comm_world(), &r)
print("rank", r)
MPI_Finalize()
