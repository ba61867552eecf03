using System.Numerics;
using Apache.Arrow;
using Apache.Arrow.Types;
using SegmentEngine.Columnar.Memory;

namespace SegmentEngine.Columnar.Table;

public sealed partial class ConsumerTable
{
    /// <summary>
    /// The table as an Arrow RecordBatch over rows [0, RowCount). Fixed-width columns and bitmaps alias the table's
    /// native buffers (zero copy): the batch is valid until the next mutation that grows the table or writes a row.
    /// Dictionaries and the optional consumer id column are copied. Free rows have live = false.
    /// </summary>
    public RecordBatch ToRecordBatch(bool includeConsumerIds = false, bool includeDerived = true)
    {
        var rows = RowCount;
        var fields = new List<Field>();
        var arrays = new List<IArrowArray>();
        void Add(string name, IArrowArray array, bool nullable)
        {
            fields.Add(new Field(name, array.Data.DataType, nullable));
            arrays.Add(array);
        }

        if (includeConsumerIds)
        {
            var b = new StringArray.Builder();
            for (var r = 0; r < rows; r++)
            {
                if (_ids[r] is { } id)
                {
                    b.Append(id);
                }
                else
                {
                    b.AppendNull();
                }
            }

            Add("consumer_id", b.Build(), true);
        }

        Add("live", Bools(Live, rows), false);
        Add("restricted", Bools(Restricted, rows), false);
        Add("objects", Bools(Objects, rows), false);
        Add("suppressed", Bools(Suppressed, rows), false);
        Add("has_email", Bools(HasEmail, rows), false);
        Add("has_phone", Bools(HasPhone, rows), false);
        Add("has_push", Bools(HasPush, rows), false);
        Add("birth_date", new Date32Array(Buf(BirthDays.Buffer, rows), Bits(BirthDays.Validity, rows), rows, Nulls(BirthDays.Validity, rows), 0), true);
        Add("created_at", Timestamps(CreatedAt, rows), false);
        Add("gender", Dict(Gender, rows, UInt8Type.Default, (v, n, l, c) => new UInt8Array(v, n, l, c, 0)), true);
        Add("country", Dict(Country, rows, UInt16Type.Default, (v, n, l, c) => new UInt16Array(v, n, l, c, 0)), true);
        Add("region", Dict(Region, rows, UInt16Type.Default, (v, n, l, c) => new UInt16Array(v, n, l, c, 0)), true);
        Add("city", Dict(City, rows, Int32Type.Default, (v, n, l, c) => new Int32Array(v, n, l, c, 0)), true);
        Add("postal_code", Dict(PostalCode, rows, Int32Type.Default, (v, n, l, c) => new Int32Array(v, n, l, c, 0)), true);
        Add("tier", Dict(Tier, rows, UInt8Type.Default, (v, n, l, c) => new UInt8Array(v, n, l, c, 0)), true);
        Add("consent_email", new UInt8Array(Buf(EmailConsent.Buffer, rows), ArrowBuffer.Empty, rows, 0, 0), false);
        Add("consent_sms", new UInt8Array(Buf(SmsConsent.Buffer, rows), ArrowBuffer.Empty, rows, 0, 0), false);
        Add("consent_push", new UInt8Array(Buf(PushConsent.Buffer, rows), ArrowBuffer.Empty, rows, 0, 0), false);
        Add("points", new Int64Array(Buf(Points.Buffer, rows), ArrowBuffer.Empty, rows, 0, 0), false);
        Add("lifetime_points", new Int64Array(Buf(LifetimePoints.Buffer, rows), ArrowBuffer.Empty, rows, 0, 0), false);
        if (includeDerived)
        {
            foreach (var (name, col) in _attributes)
            {
                AddTyped(Add, "attr." + name, col, rows);
            }

            foreach (var s in _surveyAnswers.Values)
            {
                AddTyped(Add, s.Name, s, rows);
            }

            foreach (var f in _aggregates.Values)
            {
                var name = "agg:" + f.Key;
                if (f.Counts is { } counts)
                {
                    Add(name, new Int32Array(Buf(counts.Buffer, rows), ArrowBuffer.Empty, rows, 0, 0), false);
                }
                else if (f.Numbers is { } nums)
                {
                    Add(name, new DoubleArray(Buf(nums.Buffer, rows), Bits(nums.Validity, rows), rows, Nulls(nums.Validity, rows), 0), true);
                }
                else if (f.Instants is { } inst)
                {
                    Add(name, Timestamps(inst, rows), true);
                }
            }
        }

        return new RecordBatch(new Schema(fields, null), arrays, rows);
    }

    private void AddTyped(Action<string, IArrowArray, bool> add, string name, TypedColumns col, int rows)
    {
        add(name + ".num", new DoubleArray(Buf(col.Numbers.Buffer, rows), Bits(col.Numbers.Validity, rows), rows, Nulls(col.Numbers.Validity, rows), 0), true);
        add(name + ".str", Dict(col.Texts, rows, Int32Type.Default, (v, n, l, c) => new Int32Array(v, n, l, c, 0)), true);
        add(name + ".bool", new UInt8Array(Buf(col.Bools.Buffer, rows), Bits(col.Bools.Validity, rows), rows, Nulls(col.Bools.Validity, rows), 0), true);
    }

    private static TimestampArray Timestamps(ValueColumn<long> col, int rows) =>
        new(new TimestampType(TimeUnit.Second, "UTC"), Buf(col.Buffer, rows), Bits(col.Validity, rows), rows, Nulls(col.Validity, rows), 0);

    private static BooleanArray Bools(BitColumn col, int rows) => new(Bits(col, rows), ArrowBuffer.Empty, rows, 0, 0);

    private static ArrowBuffer Buf<T>(NativeBuffer<T> buffer, int rows) where T : unmanaged => new(buffer.AsByteMemory(rows));

    private static ArrowBuffer Bits(BitColumn? col, int rows) =>
        col is null ? ArrowBuffer.Empty : new ArrowBuffer(col.Buffer.AsByteMemory(Bitmaps.WordCount(rows)));

    private static int Nulls(BitColumn? col, int rows) =>
        col is null ? 0 : rows - (int)Bitmaps.PopCount(col.Words[..Bitmaps.WordCount(rows)]);

    private static DictionaryArray Dict<TCode>(DictColumn<TCode> col, int rows, IArrowType indexType, Func<ArrowBuffer, ArrowBuffer, int, int, IArrowArray> indices)
        where TCode : unmanaged, IBinaryInteger<TCode>
    {
        var dict = new StringArray.Builder();
        foreach (var s in col.Dictionary.Values)
        {
            dict.Append(s);
        }

        var idx = indices(Buf(col.Buffer, rows), Bits(col.Validity, rows), rows, Nulls(col.Validity, rows));
        return new DictionaryArray(new DictionaryType(indexType, StringType.Default, false), idx, dict.Build());
    }
}
