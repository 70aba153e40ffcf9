// ShuffleBuffer: a permutation of the source per pass, deterministic in the
// seed, and well mixed: rows of different shards interleave, neighbours part.
#include "glassbox/features/shuffle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "glassbox/error.h"
#include "glassbox/features/harvest.h"
#include "glassbox/features/shards.h"
#include "harvest_test_util.h"

namespace glassbox::features {
namespace {

// Rows 0..n-1 in order; row r is {r, -r} at site 0 and {2r} at site 1, token r.
class CountingStream : public ActivationStream {
 public:
  explicit CountingStream(int64_t n, int64_t chunk = 37) : n_(n), chunk_(chunk) {}
  const std::vector<std::string>& site_names() const override { return names_; }
  const std::vector<int64_t>& dims() const override { return dims_; }
  int64_t next(ActivationBatch& out, int64_t max_rows) override {
    const int64_t k = std::min({max_rows, chunk_, n_ - at_});
    out.rows = k;
    out.sites.assign(2, {});
    out.tokens.clear();
    for (int64_t i = 0; i < k; ++i) {
      const float r = float(at_ + i);
      out.sites[0].insert(out.sites[0].end(), {r, -r});
      out.sites[1].push_back(2 * r);
      out.tokens.push_back(int32_t(at_ + i));
    }
    at_ += k;
    return k;
  }
  void rewind() override { at_ = 0; }

 private:
  int64_t n_, chunk_, at_ = 0;
  std::vector<std::string> names_ = {"a", "b"};
  std::vector<int64_t> dims_ = {2, 1};
};

std::vector<int32_t> order_of(ShuffleBuffer& s, int64_t chunk) {
  const testing::AllRows all = testing::read_all(s, chunk);
  for (int64_t r = 0; r < all.rows; ++r) {  // rows stay whole: every site moved together
    const float v = float(all.tokens[size_t(r)]);
    EXPECT_EQ(all.sites[0][size_t(2 * r)], v);
    EXPECT_EQ(all.sites[0][size_t(2 * r + 1)], -v);
    EXPECT_EQ(all.sites[1][size_t(r)], 2 * v);
  }
  return all.tokens;
}

TEST(ShuffleBuffer, EveryRowComesOutExactlyOncePerPass) {
  CountingStream src(5000);
  ShuffleBuffer s(src, 512, 7);
  std::vector<int32_t> order = order_of(s, 100);
  ASSERT_EQ(order.size(), 5000u);
  EXPECT_FALSE(std::is_sorted(order.begin(), order.end()));
  std::sort(order.begin(), order.end());
  std::vector<int32_t> want(5000);
  std::iota(want.begin(), want.end(), 0);
  EXPECT_EQ(order, want);
  ActivationBatch b;
  EXPECT_EQ(s.next(b, 10), 0);
}

TEST(ShuffleBuffer, TheOrderDependsOnlyOnTheSeedAndRewindReplaysIt) {
  CountingStream a(3000), b(3000), c(3000);
  ShuffleBuffer sa(a, 256, 1), sb(b, 256, 1), sc(c, 256, 2);
  const std::vector<int32_t> oa = order_of(sa, 64);
  EXPECT_EQ(oa, order_of(sb, 64));
  EXPECT_NE(oa, order_of(sc, 64));
  sa.rewind();
  EXPECT_EQ(order_of(sa, 64), oa);
  // How many rows are asked for at a time does not change the order either.
  sa.rewind();
  EXPECT_EQ(order_of(sa, 1000), oa);
}

TEST(ShuffleBuffer, MixesFarBeyondNeighbours) {
  CountingStream src(20000);
  ShuffleBuffer s(src, 2000, 3);
  const std::vector<int32_t> order = order_of(s, 500);
  // In corpus order every pair of consecutive rows is adjacent; shuffled, about 2/buffer of them are.
  int64_t adjacent = 0;
  double displacement = 0;
  for (size_t i = 1; i < order.size(); ++i) adjacent += std::abs(order[i] - order[i - 1]) == 1;
  for (size_t i = 0; i < order.size(); ++i) displacement += std::abs(double(order[i]) - double(i));
  EXPECT_LT(adjacent, 60) << "of " << order.size();
  EXPECT_GT(displacement / double(order.size()), 300);  // rows travel hundreds of places
  // Blocks of 1000 rows (shards) interleave: any 200 consecutive outputs after warm-up span several blocks.
  for (size_t w = 2000; w + 200 <= 18000; w += 200) {
    std::set<int32_t> blocks;
    for (size_t i = w; i < w + 200; ++i) blocks.insert(order[i] / 1000);
    EXPECT_GE(blocks.size(), 2u) << "window at " << w;
  }
}

TEST(ShuffleBuffer, MixesRowsAcrossTheShardsOfAHarvest) {
  testing::TempDir tmp("shuffle");
  testing::write_file(tmp / "corpus.txt", testing::corpus_text());
  HarvestOptions o;
  o.models = {testing::model_dir("tiny-lm")};
  o.hooks = {"blocks.0.hook_resid_post"};
  o.corpus = tmp / "corpus.txt";
  o.stream.context = 16;
  o.shard_rows = 64;
  o.out_dir = tmp / "h";
  harvest(o);
  ShardStream plain(o.out_dir);
  const testing::AllRows in_order = testing::read_all(plain, 1000);
  ASSERT_GE(plain.n_shards(), 4);
  plain.rewind();
  ShuffleBuffer s(plain, 128, 11);
  const testing::AllRows mixed = testing::read_all(s, 32);
  ASSERT_EQ(mixed.rows, in_order.rows);
  // The same rows (as a multiset: BOS rows, for one, are all alike) ...
  const int64_t d = plain.dims()[0];
  auto rows_of = [d](const testing::AllRows& a) {
    std::vector<std::vector<float>> v;
    for (int64_t r = 0; r < a.rows; ++r) v.emplace_back(a.sites[0].begin() + r * d, a.sites[0].begin() + (r + 1) * d);
    return v;
  };
  std::vector<std::vector<float>> want = rows_of(in_order), got = rows_of(mixed);
  EXPECT_NE(got, want);
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
  // ... and the first 64 drawn already include rows found only in shard 0 and rows found only in shard 1.
  std::map<std::vector<float>, std::set<int64_t>> shards_of;
  const std::vector<std::vector<float>> ordered = rows_of(in_order);
  for (size_t r = 0; r < ordered.size(); ++r) shards_of[ordered[r]].insert(int64_t(r) / 64);
  const std::vector<std::vector<float>> drawn = rows_of(mixed);
  int from0 = 0, from1 = 0;
  for (size_t i = 0; i < 64; ++i) {
    const std::set<int64_t>& sh = shards_of.at(drawn[i]);
    from0 += sh == std::set<int64_t>{0};
    from1 += sh == std::set<int64_t>{1};
  }
  EXPECT_GT(from0, 5);
  EXPECT_GT(from1, 5);
}

TEST(ShuffleBuffer, RejectsAnEmptyBuffer) {
  CountingStream src(10);
  EXPECT_THROW(ShuffleBuffer(src, 0), Error);
}

}  // namespace
}  // namespace glassbox::features
