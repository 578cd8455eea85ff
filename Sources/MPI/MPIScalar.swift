import CMPI

/// A fixed-size numeric type with a matching MPI datatype, so buffers of it can be sent as they lie
/// in memory.
public protocol MPIScalar {
    static var mpiDatatype: MPI_Datatype { get }
}

extension Float: MPIScalar {
    public static var mpiDatatype: MPI_Datatype { mpivae_float() }
}

extension Double: MPIScalar {
    public static var mpiDatatype: MPI_Datatype { mpivae_double() }
}

extension Int32: MPIScalar {
    public static var mpiDatatype: MPI_Datatype { mpivae_int32() }
}

extension Int64: MPIScalar {
    public static var mpiDatatype: MPI_Datatype { mpivae_int64() }
}

extension UInt8: MPIScalar {
    public static var mpiDatatype: MPI_Datatype { mpivae_uint8() }
}

extension UInt64: MPIScalar {
    public static var mpiDatatype: MPI_Datatype { mpivae_uint64() }
}

// Swift's Int is the natural type for counts and sizes; it travels as whichever fixed width it has.
extension Int: MPIScalar {
    public static var mpiDatatype: MPI_Datatype {
        MemoryLayout<Int>.size == 8 ? mpivae_int64() : mpivae_int32()
    }
}
