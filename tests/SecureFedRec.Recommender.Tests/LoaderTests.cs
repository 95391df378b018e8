using System.Text;
using SecureFedRec.Recommender.Data;

namespace SecureFedRec.Recommender.Tests;

public sealed class LoaderTests
{
    private static RatingDataset LoadText(string text, string name, DatasetFormat format = DatasetFormat.Auto) =>
        DatasetLoader.Load(new MemoryStream(Encoding.UTF8.GetBytes(text)), name, format);

    [Fact]
    public void MovieLensCsv_is_read_and_ids_remapped_densely_in_order_of_appearance()
    {
        var ds = LoadText("userId,movieId,rating,timestamp\n7,31,2.5,1260759144\n7,1029,3.0,1260759179\n9,31,5.0,1260759182\n", "ratings.csv");
        Assert.Equal(3, ds.Count);
        Assert.Equal(2, ds.UserCount);
        Assert.Equal(2, ds.ItemCount);
        Assert.Equal(new Rating(0, 0, 2.5f, 1260759144), ds.Ratings[0]);
        Assert.Equal(new Rating(0, 1, 3.0f, 1260759179), ds.Ratings[1]);
        Assert.Equal(new Rating(1, 0, 5.0f, 1260759182), ds.Ratings[2]);
        Assert.Equal("9", ds.UserId(1));
        Assert.Equal("1029", ds.ItemId(1));
        Assert.Equal(0.5, ds.MinRating - 2.0, 9);
        Assert.Equal(3.5, ds.Mean, 9);
    }

    [Fact]
    public void MovieLens100K_tab_separated_is_read()
    {
        var ds = LoadText("196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t377\t1\t878887116\n", "u.data");
        Assert.Equal(3, ds.Count);
        Assert.Equal(2, ds.UserCount);
        Assert.Equal(3, ds.ItemCount);
        Assert.Equal(1f, ds.Ratings[2].Value);
        Assert.Equal(878887116, ds.Ratings[2].Timestamp);
    }

    [Fact]
    public void MovieLens1M_double_colon_is_read()
    {
        var ds = LoadText("1::1193::5::978300760\r\n1::661::3::978302109\r\n2::1193::4::978298413\r\n", "ratings.dat");
        Assert.Equal(3, ds.Count);
        Assert.Equal(2, ds.UserCount);
        Assert.Equal(2, ds.ItemCount);
        Assert.Equal(new Rating(1, 0, 4f, 978298413), ds.Ratings[2]);
    }

    [Theory]
    [InlineData("alice,apple,4.5\nbob,apple,1\nalice,pear,-2\n", 3)]
    [InlineData("user,item,rating,ts\nalice,apple,4.5,10\nbob,apple,1,11\nalice,pear,-2,12\n", 3)]
    [InlineData("alice,apple,4.5,10\nbob,apple,1,11\nalice,pear,-2,12", 3)]
    public void Generic_csv_with_or_without_header_and_timestamp_is_read(string text, int expected)
    {
        var ds = LoadText(text, "mine.csv");
        Assert.Equal(expected, ds.Count);
        Assert.Equal(2, ds.UserCount);
        Assert.Equal(2, ds.ItemCount);
        Assert.Equal("alice", ds.UserId(0));
        Assert.Equal(-2f, ds.Ratings[2].Value);
    }

    [Fact]
    public void Generic_csv_without_timestamp_uses_line_order()
    {
        var ds = LoadText("a,x,1\na,y,2\n", "mine.csv");
        Assert.True(ds.Ratings[1].Timestamp > ds.Ratings[0].Timestamp);
    }

    [Theory]
    [InlineData("ratings.csv", "userId,movieId,stars,timestamp\n1,2,3.0,4\n", 1, "expected the header")]
    [InlineData("ratings.csv", "userId,movieId,rating,timestamp\n1,2,3.0\n", 2, "expected 4 fields")]
    [InlineData("ratings.csv", "userId,movieId,rating,timestamp\n1,2,3.0,4,5\n", 2, "expected 4 fields")]
    [InlineData("ratings.csv", "userId,movieId,rating,timestamp\n1,2,abc,4\n", 2, "is not a finite number")]
    [InlineData("ratings.csv", "userId,movieId,rating,timestamp\n1,2,NaN,4\n", 2, "is not a finite number")]
    [InlineData("ratings.csv", "userId,movieId,rating,timestamp\n1,2,3.0,4\n1,3,6.0,4\n", 3, "outside the format's scale")]
    [InlineData("ratings.csv", "userId,movieId,rating,timestamp\n1,2,3.3,4\n", 2, "outside the format's scale")]
    [InlineData("ratings.csv", "userId,movieId,rating,timestamp\n1,2,3.0,later\n", 2, "is not an integer")]
    [InlineData("ratings.csv", "userId,movieId,rating,timestamp\n1,2,3.0,4\n\n1,3,3.0,4\n", 3, "empty line")]
    [InlineData("ratings.csv", "userId,movieId,rating,timestamp\n1,2,3.0,4\n1,3,3", 3, "truncated")]
    [InlineData("ratings.csv", "userId,movieId,rating,timestamp\n1,2,3.0,4\n1,3,3.0,", 3, "truncated: the last line has no timestamp")]
    [InlineData("ratings.csv", "userId,movieId,rating,timestamp\n1,2,3.0,4\n1,2,4.0,5\n", 3, "already on line 2")]
    [InlineData("ratings.csv", "userId,movieId,rating,timestamp\nx1,2,3.0,4\n", 2, "non-negative integers")]
    [InlineData("ratings.csv", "userId,movieId,rating,timestamp\n", 0, "no ratings")]
    [InlineData("u.data", "196\t242\t3.5\t881250949\n", 1, "whole stars")]
    [InlineData("u.data", "196\t242\t0\t881250949\n", 1, "outside the format's scale")]
    [InlineData("u.data", "196,242,3,881250949\n", 1, "separated by \"TAB\"")]
    [InlineData("ratings.dat", "1::1193::5::978300760\n1::661", 2, "truncated")]
    [InlineData("ratings.dat", "1::1193::5\n", 1, "expected 4 fields")]
    [InlineData("mine.csv", "a,x\n", 1, "expected 3 or 4 fields")]
    [InlineData("mine.csv", ",x,1\n", 1, "empty user id")]
    [InlineData("mine.csv", "a, ,1\n", 1, "empty item id")]
    [InlineData("mine.csv", "a,x,1\na,y,Infinity\n", 2, "is not a finite number")]
    [InlineData("mine.csv", "", 0, "no ratings")]
    public void Malformed_or_truncated_input_is_refused_naming_file_line_and_problem(string name, string text, int line, string problem)
    {
        var ex = Assert.Throws<DatasetFormatException>(() => LoadText(text, name));
        Assert.Equal(name, ex.FilePath);
        Assert.Equal((long)line, ex.LineNumber);
        Assert.Contains(problem, ex.Problem, StringComparison.Ordinal);
        Assert.StartsWith(name, ex.Message, StringComparison.Ordinal);
        if (line > 0)
        {
            Assert.Contains($":{line}: ", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Invalid_utf8_is_refused()
    {
        var bytes = new byte[] { (byte)'a', (byte)',', 0xFF, 0xFE, (byte)',', (byte)'1', (byte)'\n' };
        var ex = Assert.Throws<DatasetFormatException>(() => DatasetLoader.Load(new MemoryStream(bytes), "bad.csv"));
        Assert.Contains("UTF-8", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void File_on_disk_error_names_the_path_and_line()
    {
        var path = Path.Combine(Path.GetTempPath(), $"sfr-{Guid.NewGuid():N}", "ratings.csv");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        try
        {
            File.WriteAllText(path, "userId,movieId,rating,timestamp\n1,2,3.0,4\n1,3,9.0,5\n");
            var ex = Assert.Throws<DatasetFormatException>(() => DatasetLoader.Load(path));
            Assert.Equal($"{path}:3: {ex.Problem}", ex.Message);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [Fact]
    public void Missing_file_is_refused()
    {
        Assert.Throws<FileNotFoundException>(() => DatasetLoader.Load(Path.Combine(Path.GetTempPath(), $"none-{Guid.NewGuid():N}.csv")));
    }

    [Fact]
    public void Explicit_format_overrides_detection()
    {
        var ds = LoadText("1\t2\t3\t4\n", "whatever.txt", DatasetFormat.MovieLens100K);
        Assert.Equal(1, ds.Count);
        Assert.Throws<DatasetFormatException>(() => LoadText("1\t2\t3\t4\n", "whatever.txt", DatasetFormat.MovieLens1M));
    }

    [Theory]
    [InlineData(-1, 0, 1f)]
    [InlineData(0, 5, 1f)]
    [InlineData(0, 0, float.NaN)]
    public void FromRatings_refuses_out_of_range_indices_and_non_finite_values(int user, int item, float value)
    {
        Assert.Throws<ArgumentException>(() => RatingDataset.FromRatings("t", [new Rating(user, item, value, 0)], 2, 5));
    }

    [Fact]
    public void FromRatings_refuses_duplicates()
    {
        Assert.Throws<ArgumentException>(() => RatingDataset.FromRatings("t", [new Rating(0, 0, 1, 0), new Rating(0, 0, 2, 1)], 1, 1));
    }
}
